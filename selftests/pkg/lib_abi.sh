#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# libhmap.so's ABI, read from the built files (host, no kernel needed):
#  - the soname is libhmap.so.<first number of VERSION>, and the file,
#    soname and dev links are the ones make install copies;
#  - the dynamic symbols it defines are exactly the functions libhmap.h
#    marks LIBHMAP_API (nm -D --defined-only): no internal helper (the
#    zero-copy reader's hmap_reader_*, say) leaks, and no API function is
#    missing; each carries the version node debian/libhmap1.symbols
#    records for it (LIBHMAP_1.0, or a later node for a later symbol);
#  - it links with no undefined symbol left to chance (each is libc's,
#    libbpf's, libelf's or libz's), and libhmap_version() returns VERSION;
#  - libhmap.a defines the same API (hmapctl and the tests link it);
#  - every file of the tree it is built from (its C sources, the headers
#    they include, the BPF program its skeleton embeds) and every header
#    make install ships is under the library's licence, LGPL-2.1 OR
#    BSD-2-Clause; none is a kernel-engine header (kmod/ outside kmod/uapi/)
#    or vmlinux.h, so it builds without a kernel;
#  - libhmap.pc's Version is VERSION, and so is debian/changelog's (the
#    packages'; dkms.conf gets it put in by make dkms-source and dh_dkms).
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
set -u
SRC=${HMAP_SRC:?} B=${HMAP_BUILD:?}
U=$B/user
VERSION=$(cat "$SRC/VERSION")
SO=$U/libhmap.so.$VERSION
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; printf '%s\n' "$@" | sed 's/^/#   /'; }

echo "TAP version 13"
echo "1..9"

if [ ! -f "$SO" ]; then
	nok "libhmap.so.$VERSION exists" "$SO is missing: run make lib"
	echo "# Totals: pass:$pass fail:$((fail + 8)) xfail:0 xpass:0 skip:0 error:0"
	exit 1
fi

soname=$(readelf -d "$SO" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
want=libhmap.so.${VERSION%%.*}
links="$(readlink "$U/$want") $(readlink "$U/libhmap.so")"
if [ "$soname" = "$want" ] && [ "$links" = "libhmap.so.$VERSION $want" ]; then
	ok "soname $soname, links $want -> libhmap.so.$VERSION, libhmap.so -> $want"
else
	nok "soname and links" "soname '$soname' (want $want); links: '$links'"
fi

# The API: every function declared LIBHMAP_API in the public header.
api=$(python3 - "$SRC/user/libhmap.h" <<'PY'
import re, sys
text = re.sub(r"/\*.*?\*/", " ", open(sys.argv[1]).read(), flags=re.S)
text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
for m in re.finditer(r"\bLIBHMAP_API\b[^;{(]*?\**\s*(\w+)\s*\(", text):
    print(m.group(1))
PY
)
api=$(sort -u <<<"$api")
exported=$(nm -D --defined-only "$SO" | awk '$2 ~ /^[TtWDdBbRrVi]$/ { sub(/@.*/, "", $3); print $3 }' | sort -u)
extra=$(comm -13 <(echo "$api") <(echo "$exported") | tr '\n' ' ')
missing=$(comm -23 <(echo "$api") <(echo "$exported") | tr '\n' ' ')
napi=$(wc -w <<<"$api")
if [ "$napi" -lt 20 ]; then
	nok "the API list read from libhmap.h" "only $napi LIBHMAP_API functions found: is the parser broken?"
elif [ -z "$extra" ]; then
	ok "exports nothing but the $napi LIBHMAP_API functions"
else
	nok "exports nothing but the LIBHMAP_API functions" "also exported: $extra" \
		"build libhmap's objects with -fvisibility=hidden and link with user/libhmap.map"
fi
if [ -z "$missing" ]; then
	ok "exports every LIBHMAP_API function"
else
	nok "exports every LIBHMAP_API function" "not exported: $missing" \
		"add its prefix to user/libhmap.map's global list"
fi

# Each symbol carries the version node it was added in, as the Debian
# symbols file records it (LIBHMAP_1.0 for the first release's, LIBHMAP_1.1
# for hmap_table__iterate_batch), and that file lists every symbol.
versioned=$(nm -D --defined-only "$SO" | awk '$2 == "A" { print $3 "@" $3; next } { sub(/@@/, "@", $3); print $3 }' | sort -u)
recorded=$(awk '$1 ~ /@LIBHMAP_/ { print $1 }' "$SRC/debian/libhmap1.symbols" | sort -u)
if [ "$versioned" = "$recorded" ] && grep -q '@LIBHMAP_1\.0$' <<<"$versioned"; then
	ok "every exported symbol has the version node debian/libhmap1.symbols records ($(grep -c . <<<"$versioned") with the nodes)"
else
	nok "every exported symbol has the version node debian/libhmap1.symbols records" \
		"exported, not recorded: $(comm -23 <(echo "$versioned") <(echo "$recorded") | tr '\n' ' ')" \
		"recorded, not exported: $(comm -13 <(echo "$versioned") <(echo "$recorded") | tr '\n' ' ')" \
		"a new symbol goes in a new node of user/libhmap.map and in the symbols file with the version that adds it"
fi

# Loads, resolves every symbol now (no lazy binding), and reports VERSION.
got=$(LD_BIND_NOW=1 python3 -c '
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.libhmap_version.restype = ctypes.c_char_p
print(lib.libhmap_version().decode())' "$SO" 2>&1)
if [ "$got" = "$VERSION" ]; then
	ok "loads with every symbol bound; libhmap_version() is $VERSION"
else
	nok "loads; libhmap_version() is VERSION ($VERSION)" "got: $got"
fi

static_missing=$(comm -23 <(echo "$api") <(nm --defined-only "$U/libhmap.a" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort -u) | tr '\n' ' ')
if [ -z "$static_missing" ]; then
	ok "libhmap.a defines the API"
else
	nok "libhmap.a defines the API" "missing: $static_missing"
fi

# Licence and build inputs: what the compilers read to build the library.
deps=$(make -s -C "$SRC" BUILD="$B" lib-deps 2>&1)
drc=$?
files=$(tr ' \\' '\n\n' <<<"$deps" | grep -E '\.(c|h)$' | sort -u)
bad=""
for f in $files; do
	case $f in
	"$B"/bpf/hmap_admin.skel.h) continue ;;	# generated from hmap_admin.bpf.c, checked below
	"$B"/*) bad="$bad $f: generated from the kernel's BTF, so the library would need a kernel to build;"; continue ;;
	"$SRC"/kmod/uapi/*) ;;
	"$SRC"/kmod/*) bad="$bad $f: a kernel-engine header (move what the library needs into kmod/uapi/hmap.h);" ;;
	"$SRC"/*) ;;
	*) continue ;;	# the system's headers
	esac
	spdx=$(grep -m1 -o 'SPDX-License-Identifier: .*' "$f" | sed 's/SPDX-License-Identifier: //; s/ *\*\/$//')
	case $spdx in
	*LGPL-2.1*BSD-2-Clause*) ;;
	*) bad="$bad ${f#"$SRC"/} is '$spdx', not LGPL-2.1 OR BSD-2-Clause;" ;;
	esac
done
nfiles=$(grep -c "^$SRC/" <<<"$files")
if [ $drc != 0 ] || [ "$nfiles" -lt 5 ]; then
	nok "libhmap's build inputs" "make lib-deps failed or listed $nfiles files: $deps"
elif [ -z "$bad" ]; then
	ok "the $nfiles files libhmap is built from and installs are LGPL-2.1 OR BSD-2-Clause; no kernel-engine header, no vmlinux.h"
else
	nok "libhmap is built only from LGPL-2.1 OR BSD-2-Clause files, without kernel-engine headers or vmlinux.h" "$bad"
fi

pcver=$(sed -n 's/^Version: *//p' "$U/libhmap.pc" 2>/dev/null)
if [ "$pcver" = "$VERSION" ]; then
	ok "libhmap.pc says Version: $VERSION"
else
	nok "libhmap.pc's Version is VERSION" "libhmap.pc says '$pcver', VERSION says '$VERSION'"
fi

debver=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version 2>&1)
if [ "$debver" = "$VERSION" ]; then
	ok "debian/changelog's version is VERSION ($VERSION)"
else
	nok "debian/changelog's version is VERSION" "debian/changelog says '$debver', VERSION says '$VERSION'" \
		"add a debian/changelog entry for $VERSION (dch -v $VERSION)"
fi

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail = 0 ]
