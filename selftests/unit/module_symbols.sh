#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the built modules may not call, read from their undefined symbols
# (nm -u).  Coarse, but it catches a whole class for every path at once:
#  - a seqlock-based clock (ktime_get*, except the NMI-safe _fast_ variants):
#    the data path runs in NMI, where one can spin forever;
#  - a blocking grace-period wait (synchronize_rcu*): table and value
#    frees chain RCU callbacks and block no kworker.
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
B=${HMAP_BUILD:?}
pass=0 fail=0 n=0
check() {	# check KO DESCRIPTION REGEX: no undefined symbol matches REGEX
	local ko=$1 what=$2 re=$3 bad
	n=$((n + 1))
	bad=$(nm -u "$ko" | awk '{print $2}' | grep -E "$re" | tr '\n' ' ')
	if [ -z "$bad" ]; then
		echo "ok $n $ko: $what"
		pass=$((pass + 1))
	else
		echo "not ok $n $ko: $what (calls $bad)"
		fail=$((fail + 1))
	fi
}
# Every kernel's build: the modules for each are in build/kmod/<kver>/.
kos=$(ls "$B"/kmod/*/hmap.ko "$B"/kmod/*/hmap_rehash.ko 2>/dev/null)
echo "TAP version 13"
echo "1..$(( $(echo "$kos" | wc -w) * 2 ))"
for ko in $kos; do
	check "$ko" "no seqlock clock (NMI)" '^ktime_get(_ns|_real.*|_boot.*|_with_offset|_raw.*)?$'
	check "$ko" "no blocking grace-period wait" '^synchronize_rcu'
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail = 0 ]
