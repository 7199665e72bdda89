# SPDX-License-Identifier: GPL-2.0
# Shared by demo.sh and test_hmapctl.sh: a veth pair between two network
# namespaces.  hmapctl runs in the root mount namespace through nsenter (not
# 'ip netns exec', which remounts /sys and would hide /sys/fs/bpf).
#   A: hmap-a, va, 10.99.0.1/24, fd00:99::1/64   (sender)
#   B: hmap-b, vb, 10.99.0.2/24, fd00:99::2/64   (receiver, XDP here)

NS_A=hmap-a
NS_B=hmap-b
IP_A=10.99.0.1
IP_B=10.99.0.2
IP6_A=fd00:99::1
IP6_B=fd00:99::2

in_a() { nsenter --net=/run/netns/$NS_A "$@"; }
in_b() { nsenter --net=/run/netns/$NS_B "$@"; }

veth_up() {
	veth_down
	ip netns add $NS_A && ip netns add $NS_B &&
	ip link add va netns $NS_A type veth peer name vb netns $NS_B &&
	in_a ip link set lo up && in_b ip link set lo up &&
	in_a ip addr add $IP_A/24 dev va && in_b ip addr add $IP_B/24 dev vb &&
	in_a ip -6 addr add $IP6_A/64 dev va nodad && in_b ip -6 addr add $IP6_B/64 dev vb nodad &&
	in_a ip link set va up && in_b ip link set vb up
}

veth_down() {
	ip netns del $NS_A 2>/dev/null || true
	ip netns del $NS_B 2>/dev/null || true
	return 0
}
