#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages and DKMS, end to end (host as root, then the VM):
#  - make deb builds hmap-dkms, hmapctl, libhmap1 and libhmap-dev;
#  - each package holds what make install installs for it (the CLI, its
#    man page and bash completion; the library, headers and .pc; the DKMS
#    sources), and nothing make install made is left out (dh_missing);
#  - lintian finds no error in them (warnings and info are listed, not
#    failed), and no hardening-* tag (the binaries got dpkg-buildflags);
#  - the DKMS build script refuses a kernel without headers and a build
#    without module BTF, saying what to install;
#  - hmap-dkms installs (apt-get install ./hmap-dkms_*.deb, which waits for
#    dpkg's lock), DKMS builds and installs hmap.ko and hmap_rehash.ko for
#    each kernel in HMAP_KVERS, and every one of them has a .BTF section;
#  - in the VM, on each kernel in HMAP_PKG_VM_KVERS (default: all of
#    HMAP_KVERS; about 30 s each), modprobe loads DKMS's modules and the
#    demo and the example built by install.sh run on them
#    (selftests/pkg/vm-dkms.sh);
#  - removing the package removes the modules from every kernel and leaves
#    no DKMS tree or source behind.
# Installing packages needs root: run as another user this fails, saying so.
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
set -u
SRC=${HMAP_SRC:?} B=${HMAP_BUILD:?}
KVERS=${HMAP_KVERS:-${KVER:?}}
VM_KVERS=${HMAP_PKG_VM_KVERS:-$KVERS}
V=$(cat "$SRC/VERSION")
APT="apt-get -y -q -o DPkg::Lock::Timeout=600"
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; printf '%s\n' "$@" | sed 's/^/#   /'; }
secs() { echo $(( $(date +%s) - $1 )); }
nk=$(wc -w <<<"$KVERS") nv=$(wc -w <<<"$VM_KVERS")
planned=$((8 + nk + nv * 6))
echo "TAP version 13"
echo "1..$planned"
done_all() { echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"; [ $fail = 0 ]; exit; }

t=$(date +%s)
if out=$(make -s -C "$SRC" BUILD="$B" deb 2>&1); then
	ok "make deb in $(secs "$t") s: $(cd "$B/deb" && ls *.deb | grep -v dbgsym | tr '\n' ' ')"
else
	nok "make deb" "$out"
	fail=$((fail + planned - n)); done_all
fi
debs=$(ls "$B"/deb/*.deb | grep -v dbgsym)

# What each package holds: a file make install made but no package ships
# fails dh_missing above; this checks the files users look for are where
# they look.
missing=""
want() { # package, then paths it must hold
	local pkg=$1 deb list
	shift
	deb=$(ls "$B"/deb/"${pkg}"_*.deb 2>/dev/null | grep -v dbgsym | head -n1)
	[ -n "$deb" ] || { missing="$missing $pkg: no .deb;"; return; }
	list=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
	for f in "$@"; do
		grep -qE "^$f\$" <<<"$list" || missing="$missing $pkg lacks $f;"
	done
}
want hmapctl /usr/sbin/hmapctl /usr/share/man/man8/hmapctl.8.gz \
	/usr/share/bash-completion/completions/hmapctl
want libhmap1 '/usr/lib/[^/]+/libhmap\.so\.1(\.[0-9.]+)?'
want libhmap-dev /usr/include/hmap/libhmap.h '/usr/lib/[^/]+/libhmap\.so' \
	'/usr/lib/[^/]+/libhmap\.a' '/usr/lib/[^/]+/pkgconfig/libhmap\.pc'
want hmap-dkms "/usr/src/hmap-$V/dkms.conf"
if [ -z "$missing" ]; then
	ok "the packages hold the CLI with its man page and bash completion, the library, its headers and .pc, and the DKMS sources"
else
	nok "the packages hold what users look for" "$missing"
fi

# lintian: errors fail; everything else is printed for the report.
# shellcheck disable=SC2086
lint=$(lintian --pedantic -I --fail-on error $debs 2>&1)
lrc=$?
lint=$(grep -v '^running with root privileges' <<<"$lint")
errs=$(grep -c '^E:' <<<"$lint")
if [ "$errs" = 0 ] && [ $lrc = 0 ]; then
	ok "lintian: no errors ($(grep -c '^W:' <<<"$lint") warnings, $(grep -c '^[IP]:' <<<"$lint") info/pedantic)"
	[ -n "$lint" ] && sed 's/^/# lintian: /' <<<"$lint"
else
	nok "lintian: no errors" "$lint"
fi

# Built with Debian's hardening flags: the package build compiled its own
# copy with dpkg-buildflags (a leak of the caller's BUILD once packaged the
# checkout's objects instead, which lintian reports only as info).
hard=$(grep -E '^[EWIP]: .*hardening-' <<<"$lint")
if [ -z "$hard" ]; then
	ok "hmapctl and libhmap.so are built with Debian's hardening flags (no lintian hardening-* tag)"
else
	nok "hmapctl and libhmap.so are built with Debian's hardening flags" "$hard"
fi

# The DKMS build script, from the tree make dkms-source stages: it must
# refuse loudly, naming the fix, a kernel without headers, and a build
# whose modules would have no BTF (pahole replaced by one that writes
# nothing; on 6.12 kbuild runs it, on 6.1 module-btf.sh).
dk=$B/pkg/dkms-src
stub=$B/pkg/stub
rm -rf "$dk" "$stub" && mkdir -p "$stub" && printf '#!/bin/sh\nexit 0\n' > "$stub/pahole" && chmod +x "$stub/pahole"
make -s -C "$SRC" BUILD="$B" DKMS_DEST="$dk" dkms-source >/dev/null 2>&1
out=$(bash "$dk/packaging/dkms/dkms-build.sh" 0.0.0-none 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q 'no kernel build tree for 0.0.0-none' <<<"$out" && grep -q 'apt-get install linux-headers-0.0.0-none' <<<"$out"; then
	ok "dkms-build.sh refuses a kernel without headers: $(head -n1 <<<"$out")"
else
	nok "dkms-build.sh refuses a kernel without headers, naming the package" "exit $rc: $out"
fi
k1=$(printf '%s\n' $KVERS | head -n1)
out=$(cd "$dk" && PATH=$stub:$PATH bash packaging/dkms/dkms-build.sh "$k1" 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q 'dkms-build.sh: error: .*BTF' <<<"$out" && ! ls "$dk"/build/dkms/*.ko >/dev/null 2>&1; then
	ok "dkms-build.sh fails, and leaves no module, when pahole adds no BTF ($k1): $(grep 'dkms-build.sh: error' <<<"$out" | head -n1)"
else
	nok "dkms-build.sh fails without BTF ($k1)" "exit $rc" "$(tail -n 8 <<<"$out")" \
		"modules left: $(ls "$dk"/build/dkms/ 2>/dev/null | tr '\n' ' ')"
fi
rm -rf "$dk" "$stub"

if [ "$(id -u)" != 0 ]; then
	nok "install hmap-dkms" "not root: installing a package needs root (make check runs as root on CI)." \
		"Run as root (sudo make check), or make check-run as root after make all."
	fail=$((fail + planned - n)); done_all
fi

# A package left by an interrupted run would make this one an upgrade.
dpkg-query -W -f='${Status}' hmap-dkms 2>/dev/null | grep -q 'ok installed' &&
	$APT remove hmap-dkms >/dev/null 2>&1
mok_before=$(ls /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>/dev/null)

t=$(date +%s)
if out=$($APT install --no-install-recommends "$B/deb/hmap-dkms_${V}_all.deb" 2>&1); then
	ok "apt-get install ./hmap-dkms_${V}_all.deb in $(secs "$t") s (its postinst builds for: $(grep -o 'Building for .*' <<<"$out" | head -n1 | sed 's/Building for //'))"
else
	nok "apt-get install ./hmap-dkms_${V}_all.deb" "$(tail -n 30 <<<"$out")" \
		"$(cat /var/lib/dkms/hmap/$V/build/make.log 2>/dev/null | tail -n 20)"
fi

# Every kernel under test: DKMS built and installed it, with BTF.
for k in $KVERS; do
	t=$(date +%s)
	if ! dkms status "hmap/$V" -k "$k" 2>/dev/null | grep -q ': installed'; then
		out=$(dkms install "hmap/$V" -k "$k" 2>&1) ||
			{ nok "DKMS builds and installs hmap for $k" "$out" \
				"$(tail -n 20 /var/lib/dkms/hmap/$V/build/make.log 2>/dev/null)"; continue; }
	fi
	bad=""
	for m in hmap hmap_rehash; do
		f=$(ls /lib/modules/"$k"/updates/dkms/$m.ko* 2>/dev/null | head -n1)
		if [ -z "$f" ]; then
			bad="$bad $m: not in /lib/modules/$k/updates/dkms;"
			continue
		fi
		tmpko=$(mktemp)
		case $f in *.xz) xz -dc "$f" > "$tmpko" ;; *) cp "$f" "$tmpko" ;; esac
		readelf -S "$tmpko" | grep -qE '\] \.BTF( |$)' || bad="$bad $f has no .BTF;"
		rm -f "$tmpko"
		[ "$(modinfo -k "$k" -n $m 2>/dev/null)" = "$f" ] || bad="$bad modprobe would not load $f (depmod);"
	done
	if [ -z "$bad" ]; then
		ok "$k: DKMS installed hmap and hmap_rehash with .BTF in /lib/modules/$k/updates/dkms ($(secs "$t") s after the postinst)"
	else
		nok "$k: DKMS installed hmap and hmap_rehash with .BTF" "$bad"
	fi
done

# In the VM: the DKMS modules, the demo and the example.
for k in $VM_KVERS; do
	t=$(date +%s)
	log=$(mktemp)
	VMLINUZ=/boot/vmlinuz-$k KVER=$k HMAP_SRC=$SRC HMAP_BUILD=$B "$SRC/selftests/vm/vm.sh" --smp 2 --mem 2G \
		--timeout "${HMAP_PKG_VM_TIMEOUT:-600}" -- sh "$SRC/selftests/pkg/vm-dkms.sh" > "$log" 2>&1
	vrc=$?
	grep -E '^(not )?ok |^#   ' "$log"
	p=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .*/\1/p' "$log" | tail -n1)
	f=$(sed -n 's/^# Totals: pass:\([0-9]*\) fail:\([0-9]*\) .*/\2/p' "$log" | tail -n1)
	if [ -n "$p" ] && [ -n "$f" ] && [ $((p + f)) = 5 ]; then
		pass=$((pass + p)) fail=$((fail + f)) n=$((n + 5))
	else
		nok "$k: the in-VM DKMS checks printed no Totals line" "$(tail -n 30 "$log")"
		fail=$((fail + 4)) n=$((n + 4))
	fi
	if [ $vrc = 0 ] || { [ $vrc != 124 ] && [ $vrc != 125 ] && [ $vrc != 126 ] && [ "${f:-0}" -gt 0 ]; }; then
		# (a non-zero exit with failures counted above is vm-dkms.sh's own)
		ok "$k: VM run in $(secs "$t") s: no timeout, crash, kernel warning, BUG or oops"
	else
		nok "$k: VM run exited $vrc (124 timeout, 125 crash, 126 kernel warning)" "$(grep -A20 'HMAP-VM:' "$log" | head -n 30)"
	fi
	rm -f "$log"
done

# Remove it all: modules from every kernel, the DKMS tree, the sources.
t=$(date +%s)
out=$($APT purge hmap-dkms 2>&1)
left=$(ls -d /var/lib/dkms/hmap /usr/src/hmap-* /lib/modules/*/updates/dkms/hmap*.ko* 2>/dev/null)
stale=""
for k in $KVERS; do
	modinfo -k "$k" -n hmap >/dev/null 2>&1 && stale="$stale $k"
done
status=$(dpkg-query -W -f='${Status}' hmap-dkms 2>/dev/null)
if [ -z "$left" ] && [ -z "$stale" ] && { [ -z "$status" ] || [[ $status == *not-installed ]]; }; then
	ok "apt-get purge hmap-dkms removes the modules, the DKMS tree and the sources ($(secs "$t") s)"
else
	nok "apt-get purge hmap-dkms leaves nothing" "$(tail -n 20 <<<"$out")" "package: $status" "left: $left" \
		"modprobe still finds hmap for:$stale"
fi
# DKMS makes a module signing key on first use; one this run made goes too.
if [ -z "$mok_before" ] && ls /var/lib/dkms/mok.* >/dev/null 2>&1; then
	rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
fi
done_all
