#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the VM (deb.sh boots it after installing hmap-dkms on the host, whose
# root the VM mounts): load the modules DKMS built for this kernel the way a
# user would (modprobe), run the demo and the installed-library example on
# them, and unload them.  TAP and a "# Totals:" line.
set -u
B=${HMAP_BUILD:?} SRC=${HMAP_SRC:?}
k=$(uname -r)
D=/lib/modules/$k/updates/dkms
n=0 pass=0 fail=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $k: $1"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $k: $1"; shift; for l in "$@"; do echo "$l" | sed 's/^/#   /'; done; }
echo "TAP version 13"
echo "1..5"

if out=$(modprobe hmap 2>&1 && modprobe hmap_rehash 2>&1); then
	p=$(modinfo -n hmap 2>&1) r=$(modinfo -n hmap_rehash 2>&1)
	case "$p $r" in
	"$D/hmap.ko"*" $D/hmap_rehash.ko"*) ok "modprobe hmap hmap_rehash loads DKMS's modules ($p)" ;;
	*) nok "modprobe loads DKMS's modules" "modinfo -n: $p $r (want them under $D)" ;;
	esac
else
	nok "modprobe hmap hmap_rehash" "$out"
fi

if [ -d /sys/kernel/btf/hmap ] || [ -f /sys/kernel/btf/hmap ]; then
	if bpftool btf dump file /sys/kernel/btf/hmap 2>/dev/null | grep -q "FUNC 'bpf_hmap_lookup'"; then
		ok "the module's BTF is registered and has its kfuncs (/sys/kernel/btf/hmap)"
	else
		nok "the module's BTF has its kfuncs" "$(bpftool btf dump file /sys/kernel/btf/hmap 2>&1 | head -5)"
	fi
else
	nok "the module's BTF is registered" "no /sys/kernel/btf/hmap: the DKMS module has no BTF"
fi

log=/tmp/demo.log
if HMAP_KMOD=$D sh "$SRC/selftests/vm/demo.sh" > $log 2>&1 && grep -q '=> {bytes=' $log; then
	ok "the demo runs on them: $(grep -c '=> {bytes=' $log) flows counted by xdp_flowcount"
else
	nok "the demo runs on them" "$(tail -n 25 $log)"
fi

out=$(LD_LIBRARY_PATH=$B/pkg/root/usr/local/lib "$B/pkg/example" 2>&1)
rc=$?
if [ $rc = 0 ] && echo "$out" | grep -q '^100 entries, values sum to 338350$'; then
	ok "the example built against the installed libhmap runs: $(echo "$out" | tr '\n' ' ')"
else
	nok "the example built against the installed libhmap runs" "exit $rc: $out"
fi

sleep 1
if out=$(rmmod hmap_rehash 2>&1 && rmmod hmap 2>&1); then
	ok "both modules unload (no table or reference left)"
else
	nok "both modules unload" "$out" "$(cat /proc/modules | grep hmap)"
fi
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail = 0 ]
