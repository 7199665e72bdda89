#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# check-ibt-seal.sh MODULE.ko...: fail if a kptr destructor is sealed.
#
# With X86_KERNEL_IBT, objtool lists in .ibt_endbr_seal every function whose
# address C never takes, and the module loader overwrites their ENDBR.  The
# BPF core calls a kptr destructor through a pointer found by BTF id, so a
# sealed destructor raises #CP on a CPU that enforces IBT.  QEMU's TCG does
# not emulate CET, so no VM test can see it; this check reads the seal list
# instead.  Destructors are the functions named *_dtor (kmod/hmap_kfunc.c),
# and hmap.ko must have one: a renamed destructor must not pass unchecked.
# Seal entries are resolved against any section and any symbol.  A module
# without the section (a kernel without IBT) passes.
exec python3 - "$@" <<'PY'
import re, subprocess, sys

def readelf(*args):
    return subprocess.run(["readelf", "-W", *args], check=True,
                          capture_output=True, text=True).stdout

rc = 0
for ko in sys.argv[1:]:
    name = ko.rsplit("/", 1)[-1]
    secs = {}
    for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+(\S+)", readelf("-S", ko), re.M):
        secs[m.group(2)] = int(m.group(1))
    syms, funcs = {}, []
    for line in readelf("-s", ko).splitlines():
        f = line.split()
        if len(f) < 8 or not f[0].endswith(":") or not f[6].isdigit():
            continue
        val, typ, ndx, sym = int(f[1], 16), f[3], int(f[6]), f[7]
        syms[sym] = (ndx, val)
        if typ == "FUNC":
            funcs.append((ndx, val, sym))
    dtors = [f for f in funcs if f[2].endswith("_dtor")]
    if name == "hmap.ko" and not dtors:
        print(f"error: {name}: no *_dtor function: the kptr destructor must be named *_dtor "
              "for this check", file=sys.stderr)
        rc = 1
    if ".rela.ibt_endbr_seal" not in secs:
        continue
    sealed = set()
    rel = readelf("-r", ko)
    part = rel.split("Relocation section '.rela.ibt_endbr_seal'", 1)[1].split("Relocation section", 1)[0]
    for m in re.finditer(r"\s(\S+) \+ ([0-9a-f]+)\s*$", part, re.M):
        target, add = m.group(1), int(m.group(2), 16)
        if target in secs:
            sealed.add((secs[target], add))
        elif target in syms:
            ndx, val = syms[target]
            sealed.add((ndx, val + add))
    for ndx, val, sym in dtors:
        if (ndx, val) in sealed:
            print(f"error: {name}: {sym} is sealed (.ibt_endbr_seal): the kernel calls it "
                  "indirectly; mark it CFI_NOSEAL()", file=sys.stderr)
            rc = 1
sys.exit(rc)
PY
