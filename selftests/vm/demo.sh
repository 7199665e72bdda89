#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The hmap demo (make demo): load hmap.ko, create a table, count real traffic
# per flow with xdp_flowcount on a veth between two network namespaces, print
# the top flows zero-copy, and show what bpftool sees.  Runs in the VM by
# default; 'make demo HOST=1' runs it here (root, a kernel that loads modules).
set -eu
SRC=${HMAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${HMAP_BUILD:-$SRC/build}
CTL=$B/hmapctl
. "$SRC/selftests/vm/lib.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { echo "\$ $*"; "$@"; }

loaded_here=""
cleanup() {
	set +e
	in_b "$CTL" detach xdp vb >/dev/null 2>&1
	"$CTL" prog unload xdp_flowcount >/dev/null 2>&1
	"$CTL" rm flows >/dev/null 2>&1
	veth_down
	[ -n "$loaded_here" ] && [ -z "${HMAP_IN_VM:-}" ] && sleep 1 && rmmod hmap 2>/dev/null
	return 0
}
trap cleanup EXIT

step "1. Load hmap.ko (built for this kernel, $(uname -r))"
# HMAP_KMOD: another module directory, e.g. DKMS's
# /lib/modules/$(uname -r)/updates/dkms, where they may be .ko.xz (kmod's
# insmod reads those).
K=${HMAP_KMOD:-$B/kmod/$(uname -r)}
ko() { for f in "$K/$1.ko" "$K/$1.ko.xz"; do [ -f "$f" ] && echo "$f" && return 0; done; return 1; }
if ! ko hmap >/dev/null; then
	echo "error: no hmap.ko (or hmap.ko.xz) for the running kernel $(uname -r) in $K" >&2
	echo "       kernels built: $(ls "$B/kmod" 2>/dev/null | tr '\n' ' ')" >&2
	echo "       install its headers (linux-headers-$(uname -r)) and run make" >&2
	exit 1
fi
if ! grep -q '^hmap ' /proc/modules; then
	run insmod "$(ko hmap)"
	loaded_here=1
fi
if ko hmap_rehash >/dev/null && ! grep -q '^hmap_rehash ' /proc/modules; then
	run insmod "$(ko hmap_rehash)"
fi
run ls -l /dev/hmap

step "2. Create a table: 5-tuple (40 bytes) -> bytes, packets (16 bytes)"
"$CTL" rm flows >/dev/null 2>&1 || true
run "$CTL" create flows --key-size 40 --value-size 16 --capacity 65536
run "$CTL" show flows

step "3. Load xdp_flowcount and attach it to a veth between two namespaces"
veth_up
run "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o"
echo "\$ nsenter --net=/run/netns/$NS_B $CTL attach xdp vb xdp_flowcount"
in_b "$CTL" attach xdp vb xdp_flowcount

step "4. Send real traffic from $NS_A to $NS_B (UDP over IPv4 and IPv6, and pings)"
in_a ping -q -c 5 -i 0.2 $IP_B | tail -n 2
in_a ping -q -c 3 -i 0.2 $IP6_B | tail -n 2
in_a python3 "$SRC/selftests/vm/udp_send.py" $IP_B $IP6_B 200 > /tmp/hmap-demo-sent.json
python3 -c 'import json,sys; f=json.load(open(sys.argv[1])); print("sent %d UDP flows, %d packets, %d bytes" % (len(f), sum(x["packets"] for x in f), sum(x["bytes"] for x in f)))' /tmp/hmap-demo-sent.json

step "5. Top flows, read zero-copy from the table's memory"
run "$CTL" dump flows --btf "$B/bpf/xdp_flowcount.bpf.o" --top 8
run "$CTL" stats flows

step "6. What bpftool sees"
run bpftool map show pinned /sys/fs/bpf/hmap/flows
run bpftool map dump pinned /sys/fs/bpf/hmap/flows | head -n 40
run bpftool prog show name xdp_flowcount
echo "\$ nsenter --net=/run/netns/$NS_B bpftool net"
in_b bpftool net
echo "\$ bpftool btf dump file /sys/kernel/btf/hmap | grep \"FUNC 'bpf_hmap\""
bpftool btf dump file /sys/kernel/btf/hmap | grep "FUNC 'bpf_hmap"

step "Done: detaching, unloading and removing the table"
