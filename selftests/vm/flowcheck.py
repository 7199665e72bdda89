#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Compare what udp_send.py sent with the xdp_flowcount table, read through
'hmapctl -j lookup' (zero-copy).  Usage: flowcheck.py HMAPCTL SENT.json
[DROPPED_DST4 DROPPED]: the flows to DROPPED_DST4... are expected to have lost
DROPPED packets in total (to a tc program).  Exit 0 if every flow matches."""
import ipaddress
import json
import subprocess
import sys


def flow_key(f):
    def addr(a):
        ip = ipaddress.ip_address(a.split("%")[0])
        if ip.version == 4:
            return bytes(10) + b"\xff\xff" + ip.packed
        return ip.packed
    return (addr(f["src"]) + addr(f["dst"]) + f["sport"].to_bytes(2, "big") +
            f["dport"].to_bytes(2, "big") + bytes([f["proto"], f["family"], 0, 0]))


def main():
    ctl, sent = sys.argv[1], json.load(open(sys.argv[2]))
    bad = 0
    for f in sent:
        key = ["hex"] + ["%02x" % b for b in flow_key(f)]  # as bpftool reads bytes
        out = subprocess.run([ctl, "-j", "lookup", "flows", "key", *key],
                             capture_output=True, text=True)
        if out.returncode:
            print(f"# flow {f['src']}:{f['sport']} -> {f['dst']}:{f['dport']}: "
                  f"not in the table ({out.stderr.strip()})")
            bad += 1
            continue
        val = bytes(int(b, 16) for b in json.loads(out.stdout)["value"])
        got_bytes = int.from_bytes(val[:8], "little")
        got_pkts = int.from_bytes(val[8:16], "little")
        ok = got_bytes == f["bytes"] and got_pkts == f["packets"]
        print(f"# flow IPv{f['family']} {f['src']}:{f['sport']} -> {f['dst']}:{f['dport']}: "
              f"sent {f['packets']} pkts {f['bytes']} B, counted {got_pkts} pkts "
              f"{got_bytes} B {'ok' if ok else 'MISMATCH'}")
        bad += not ok
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
