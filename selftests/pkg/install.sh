#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install into a DESTDIR, then build against what it installed, as an
# out-of-tree user would (host; running the program needs the module, which
# the DKMS stage does in the VM):
#  - every file is where it belongs, with its mode, and the .so links;
#  - pkg-config, pointed at the DESTDIR (PKG_CONFIG_PATH and
#    PKG_CONFIG_SYSROOT_DIR), gives flags that build selftests/pkg/example.c,
#    which knows only <hmap/libhmap.h>; the program needs libhmap.so.1 and
#    nothing it needs is missing;
#  - with pkg-config --static, the example links as a static binary (libhmap.a,
#    then libbpf, libelf and libz from Requires.private/Libs.private);
#  - <hmap/libhmap.h> compiles alone in C and C++, and a BPF program builds
#    with <hmap/hmap.bpf.h> from the installed tree (its uapi include
#    resolves next to it);
#  - make uninstall removes everything install put there;
#  - a relative PREFIX is refused with a message that names it.
# The example stays at BUILD/pkg/example, and the install it was built
# against at BUILD/pkg/root (LD_LIBRARY_PATH=BUILD/pkg/root/usr/local/lib).
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
set -u
SRC=${HMAP_SRC:?} B=${HMAP_BUILD:?}
CLANG=${CLANG:-clang-19}
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; printf '%s\n' "$@" | sed 's/^/#   /'; }
O=$B/pkg
D=$O/root
P=/usr/local
rm -rf "$D" && mkdir -p "$O"
echo "TAP version 13"
echo "1..10"

if out=$(make -s -C "$SRC" BUILD="$B" DESTDIR="$D" PREFIX=$P install 2>&1); then
	ok "make install DESTDIR=$D PREFIX=$P"
else
	nok "make install DESTDIR=$D PREFIX=$P" "$out"
fi

V=$(cat "$SRC/VERSION")
want="0755 $P/sbin/hmapctl
0644 $P/lib/libhmap.so.$V
link $P/lib/libhmap.so.${V%%.*} -> libhmap.so.$V
link $P/lib/libhmap.so -> libhmap.so.${V%%.*}
0644 $P/lib/libhmap.a
0644 $P/lib/pkgconfig/libhmap.pc
0644 $P/include/hmap/libhmap.h
0644 $P/include/hmap/hmap.bpf.h
0644 $P/include/hmap/uapi/hmap.h
0644 $P/share/man/man3/libhmap.3
0644 $P/share/man/man8/hmapctl.8"
[ -f "$SRC/user/hmapctl/bash-completion/hmapctl" ] &&
	want="$want
0644 $P/share/bash-completion/completions/hmapctl"
have=$(cd "$D" && find . \( -type f -o -type l \) | sed 's|^\.||' | sort | while read -r f; do
	if [ -L "$D$f" ]; then echo "link $f -> $(readlink "$D$f")"; else echo "$(stat -c %a "$D$f" | sed 's/^/0/') $f"; fi
done)
if diff <(sort -k2 <<<"$want") <(sort -k2 <<<"$have") >/dev/null; then
	ok "installed files, modes and links ($(wc -l <<<"$have") entries)"
else
	nok "installed files, modes and links" "$(diff <(sort -k2 <<<"$want") <(sort -k2 <<<"$have") | grep '^[<>]')" "(< wanted, > installed)"
fi

export PKG_CONFIG_PATH=$D$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_LIBDIR=$D$P/lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig
flags=$(pkg-config --cflags --libs libhmap 2>&1)
pcver=$(pkg-config --modversion libhmap 2>&1)
# Requires.private: libbpf adds libbpf's -I (sysroot-prefixed, harmless);
# its -l flags only with --static.
if [[ " $flags " == *" -I$D$P/include "* && " $flags " == *" -L$D$P/lib -lhmap "* &&
      " $flags " != *" -lbpf "* ]] && [ "$pcver" = "$V" ]; then
	ok "pkg-config libhmap $pcver: $flags"
else
	nok "pkg-config --cflags --libs libhmap" "got '$flags' (version '$pcver')" "want -I$D$P/include and -L$D$P/lib -lhmap (no -lbpf), version $V"
fi

# shellcheck disable=SC2086
if out=$(cc -Wall -Wextra -Werror -O2 "$SRC/selftests/pkg/example.c" $flags -o "$O/example" 2>&1); then
	ok "example.c builds against the installed header, .pc and library"
else
	nok "example.c builds against the installed header, .pc and library" "$out"
fi
needed=$(readelf -d "$O/example" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(libhmap[^]]*\)\].*/\1/p')
missing=$(LD_LIBRARY_PATH=$D$P/lib ldd "$O/example" 2>&1 | grep 'not found')
if [ "$needed" = "libhmap.so.${V%%.*}" ] && [ -z "$missing" ]; then
	ok "the example needs libhmap.so.${V%%.*}, and every library it needs is found"
else
	nok "the example needs libhmap.so.${V%%.*}, and every library it needs is found" \
		"NEEDED: '$needed'" "$missing"
fi

# Static: what pkg-config --static says must be enough for a -static link.
# shellcheck disable=SC2086
if out=$(cc -static -Wall -Wextra -Werror -O2 "$SRC/selftests/pkg/example.c" \
		$(pkg-config --static --cflags --libs libhmap) -o "$O/example-static" 2>&1) &&
   ! readelf -d "$O/example-static" 2>/dev/null | grep -q NEEDED; then
	ok "example.c links -static with pkg-config --static --libs libhmap"
else
	nok "example.c links -static with pkg-config --static --libs libhmap" "$out" \
		"$(pkg-config --static --libs libhmap)" "$(readelf -d "$O/example-static" 2>&1 | grep NEEDED)"
fi

echo '#include <hmap/libhmap.h>' > "$O/hdr.c"
# shellcheck disable=SC2086
if out=$( { cc -Wall -Wextra -Werror -c -x c "$O/hdr.c" -o /dev/null $(pkg-config --cflags libhmap) &&
	c++ -Wall -Wextra -Werror -c -x c++ "$O/hdr.c" -o /dev/null $(pkg-config --cflags libhmap); } 2>&1); then
	ok "<hmap/libhmap.h> compiles alone, in C and C++"
else
	nok "<hmap/libhmap.h> compiles alone, in C and C++" "$out"
fi

cat > "$O/prog.bpf.c" <<'BPF'
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <hmap/hmap.bpf.h>

struct k { __u32 a; };
struct v { __u64 n; };
HMAP_TABLE(counts, struct k, struct v);

SEC("xdp")
int count(struct xdp_md *ctx)
{
	struct k key = { .a = 1 };
	struct v *val = hmap_lookup_or_init(counts, &key);

	if (val)
		__sync_fetch_and_add(&val->n, 1);
	return XDP_PASS;
}
char LICENSE[] SEC("license") = "GPL";
BPF
if out=$($CLANG -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -I"$B" -I"$D$P/include" \
		-c "$O/prog.bpf.c" -o "$O/prog.bpf.o" 2>&1); then
	ok "a BPF program builds with the installed <hmap/hmap.bpf.h>"
else
	nok "a BPF program builds with the installed <hmap/hmap.bpf.h>" "$out"
fi

# Uninstall from a second DESTDIR: the first stays for the VM run.
U=$O/uninstall
rm -rf "$U"
if out=$(make -s -C "$SRC" BUILD="$B" DESTDIR="$U" PREFIX=$P install 2>&1 &&
		make -s -C "$SRC" BUILD="$B" DESTDIR="$U" PREFIX=$P uninstall 2>&1) &&
		left=$(cd "$U" && find . -mindepth 1 \( -type f -o -type l -o -path "./usr/local/include/hmap*" \)) &&
		[ -z "$left" ]; then
	ok "make uninstall removes everything install put there"
else
	nok "make uninstall removes everything install put there" "$out" "left: $left"
fi

out=$(make -s -C "$SRC" BUILD="$B" DESTDIR="$U" PREFIX=usr/local install 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "PREFIX=usr/local.*absolute" <<<"$out" && [ -z "$(find "$U" -mindepth 1 -type f)" ]; then
	ok "a relative PREFIX is refused: $(grep PREFIX <<<"$out" | head -n1)"
else
	nok "a relative PREFIX is refused, naming it" "exit $rc: $out"
fi
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail = 0 ]
