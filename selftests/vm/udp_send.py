#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send UDP datagrams to DST4 and DST6 and print, as JSON, exactly what was
sent per flow: addresses, ports, packets, and bytes as XDP sees them (the
Ethernet frame).  Usage: udp_send.py DST4 DST6 COUNT [SIZE ...]; DST6 "-"
sends IPv4 only."""
import json
import socket
import sys
import time

ETH, IP4, IP6, UDP = 14, 20, 40, 8


def main():
    dst4, dst6, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    sizes = [int(s) for s in sys.argv[4:]] or [100, 700, 1200]
    # Resolve neighbours first, so no datagram waits in (or falls out of) an
    # unresolved-neighbour queue; these warm-up flows are not reported.
    targets = [(socket.AF_INET, dst4, ETH + IP4 + UDP)]
    if dst6 != "-":
        targets.append((socket.AF_INET6, dst6, ETH + IP6 + UDP))
    for fam, dst, _ in targets:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.sendto(b"warm-up", (dst, 4999))
        s.close()
    time.sleep(0.5)
    flows = []
    for fam, dst, hdr in targets:
        for i, size in enumerate(sizes):
            s = socket.socket(fam, socket.SOCK_DGRAM)
            s.connect((dst, 5001 + i))
            src, sport = s.getsockname()[:2]
            sent = 0
            while sent < count:
                try:
                    s.send(b"h" * size)
                except ConnectionRefusedError:
                    # The receiver's ICMP port-unreachable for an earlier
                    # datagram, reported on this send, which sent nothing.
                    continue
                sent += 1
            s.close()
            flows.append({"family": 4 if fam == socket.AF_INET else 6,
                          "src": src, "dst": dst, "sport": sport, "dport": 5001 + i,
                          "proto": 17, "packets": sent, "bytes": sent * (hdr + size)})
    json.dump(flows, sys.stdout)
    print()


if __name__ == "__main__":
    main()
