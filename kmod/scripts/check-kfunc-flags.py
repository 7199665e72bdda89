#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check a built module's kfunc sets against the flags its source declares.

  check-kfunc-flags.py --btf-base VMLINUX --headers KDIR [--bpftool BPFTOOL]
                       MODULE.ko [SRC.c ...]

Declared: BTF_ID_FLAGS(func, NAME, KF_...) between *SET8_START(set) or
*KFUNCS_START(set) and the matching _END in the sources, with KF_* values
from KDIR's include/linux/btf.h.  Resolved: struct btf_id_set8 at symbol
__BTF_ID__set8__<set> in the module's .BTF_ids section, its ids named by
the module's split BTF (bpftool -B VMLINUX).  Every declared kfunc must be
there with exactly its flags, nothing else, no id 0, sorted; the module
must have no set the sources do not declare.  A second pahole +
resolve_btfids pass over a module re-sorts a set's ids but not their flags,
so the verifier then applies one kfunc's flags to another.
Exit 0: all match; 1: mismatch; 2: usage or input error.
"""
import argparse
import ast
import json
import os
import re
import struct
import subprocess
import sys

FIX = ("fix: rebuild from clean (make clean modules): module BTF must be added "
       "exactly once (by kbuild when KDIR has a vmlinux, else by module-btf.sh), "
       "against the base BTF {}")


def die(msg):
    print(f"check-kfunc-flags: error: {msg}", file=sys.stderr)
    sys.exit(2)


def find_btf_h(kdir):
    """KDIR's include/linux/btf.h, also through Debian's split headers
    (KDIR/Makefile includes the -common tree) or a 'source' link."""
    dirs = [kdir, os.path.join(kdir, "source")]
    try:
        with open(os.path.join(kdir, "Makefile")) as f:
            dirs += re.findall(r"^include\s+(\S+)/Makefile\s*$", f.read(), re.M)
    except OSError:
        pass
    for d in dirs:
        p = os.path.join(d, "include/linux/btf.h")
        if os.path.isfile(p):
            return p
    die(f"no include/linux/btf.h under {kdir} (is --headers a kernel build tree?)")


def c_eval(expr, env):
    """Value of a C constant expression of integers, KF_* names and | & << >> + ~."""
    ops = {ast.BitOr: lambda a, b: a | b, ast.BitAnd: lambda a, b: a & b,
           ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
           ast.Add: lambda a, b: a + b}

    def ev(n):
        if isinstance(n, ast.Constant) and isinstance(n.value, int):
            return n.value
        if isinstance(n, ast.Name) and n.id in env:
            return env[n.id]
        if isinstance(n, ast.BinOp) and type(n.op) in ops:
            return ops[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Invert):
            return ~ev(n.operand) & 0xffffffff
        raise ValueError(expr)
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]+\b", r"\1", expr)
    return ev(ast.parse(expr.strip(), mode="eval").body)


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


def kf_flags(btf_h):
    """{KF_NAME: value} from the #defines in btf.h."""
    kf = {}
    with open(btf_h) as f:
        text = strip_comments(f.read())
    for name, expr in re.findall(r"^\s*#\s*define\s+(KF_\w+)[ \t]+(.+)$", text, re.M):
        try:
            kf[name] = c_eval(expr, kf)
        except (ValueError, SyntaxError):
            pass    # not a plain constant: an error only if a source uses it
    if not kf:
        die(f"no KF_* flags defined in {btf_h}")
    return kf


def declared_sets(srcs, kf, btf_h):
    """{set: [(kfunc, flags)]} from the sources, in declaration order."""
    sets = {}
    start = re.compile(r"\b\w*(?:SET8|KFUNCS)_START\s*\(\s*(\w+)\s*\)(.*?)"
                       r"\b\w*(?:SET8|KFUNCS)_END\s*\(\s*\1\s*\)", re.S)
    entry = re.compile(r"BTF_ID_FLAGS\s*\(\s*func\s*,\s*(\w+)\s*(?:,([^)]*))?\)")
    for src in srcs:
        with open(src) as f:
            # Drop comments and directives (the macros' own #defines).
            text = re.sub(r"^\s*#.*$", "", strip_comments(f.read()), flags=re.M)
        for name, body in start.findall(text):
            if name in sets:
                die(f"{src}: set {name} declared twice")
            rest = entry.sub("", body)
            if rest.strip():
                die(f"{src}: set {name}: cannot parse {rest.strip()[:60]!r}")
            sets[name] = []
            for func, flags in entry.findall(body):
                val = 0
                for tok in filter(None, (t.strip() for t in flags.split("|"))):
                    if tok not in kf:
                        die(f"{src}: {func}: flag {tok} unknown to {btf_h}")
                    val |= kf[tok]
                sets[name].append((func, val))
    return sets


def read_elf(path):
    """(.BTF_ids bytes, {symbol: (offset, size)} in it, struct byte order)."""
    with open(path, "rb") as f:
        d = f.read()
    if d[:4] != b"\x7fELF" or d[4] != 2:
        die(f"{path}: not a 64-bit ELF file")
    e = "<" if d[5] == 1 else ">"
    shoff, = struct.unpack_from(e + "Q", d, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from(e + "HHH", d, 0x3a)
    # (name, type, offset, size, link, entsize) per section
    sh = [struct.unpack_from(e + "IIQQQQIIQQ", d, shoff + i * shentsize)
          for i in range(shnum)]
    sh = [(s[0], s[1], s[4], s[5], s[6], s[9]) for s in sh]
    names = sh[shstrndx]

    def cstr(off):
        return d[off:d.index(b"\0", off)].decode()
    secname = [cstr(names[2] + s[0]) for s in sh]
    if ".BTF_ids" not in secname:
        return b"", {}, e
    idx = secname.index(".BTF_ids")
    ids = d[sh[idx][2]:sh[idx][2] + sh[idx][3]]
    syms = {}
    for s in sh:
        if s[1] != 2:    # SHT_SYMTAB
            continue
        strtab = sh[s[4]][2]
        for off in range(s[2], s[2] + s[3], s[5]):
            name, _, _, shndx, value, size = struct.unpack_from(e + "IBBHQQ", d, off)
            if shndx == idx:    # relocatable: value is the section offset
                syms[cstr(strtab + name)] = (value, size)
    return ids, syms, e


def btf_funcs(bpftool, base, ko):
    """{id: name} of the FUNCs in the module's split BTF."""
    try:
        r = subprocess.run([bpftool, "-j", "-B", base, "btf", "dump", "file", ko],
                           capture_output=True, text=True)
    except OSError as err:
        die(f"cannot run {bpftool}: {err}")
    if r.returncode:
        die(f"{bpftool} cannot read {ko}'s BTF against {base}: "
            f"{r.stderr.strip() or r.stdout.strip()}")
    return {t["id"]: t["name"] for t in json.loads(r.stdout)["types"]
            if t["kind"] == "FUNC"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--btf-base", required=True, help="base BTF (vmlinux)")
    ap.add_argument("--headers", required=True, help="kernel tree (KDIR)")
    ap.add_argument("--bpftool", default="bpftool")
    ap.add_argument("-v", "--verbose", action="store_true", help="say so on success")
    ap.add_argument("module")
    ap.add_argument("sources", nargs="*")
    a = ap.parse_args()

    btf_h = find_btf_h(a.headers)
    kf = kf_flags(btf_h)
    want = declared_sets(a.sources, kf, btf_h)
    ids, syms, e = read_elf(a.module)
    have = sorted(s[len("__BTF_ID__set8__"):] for s in syms
                  if s.startswith("__BTF_ID__set8__"))
    funcs = btf_funcs(a.bpftool, a.btf_base, a.module) if have or want else {}
    mod = os.path.basename(a.module)

    bits = {}    # one name per single-bit value
    for k, b in sorted(kf.items(), key=lambda x: x[1]):
        if b and b & (b - 1) == 0:
            bits.setdefault(b, k)

    def fl(v):
        names = [k for b, k in sorted(bits.items()) if v & b]
        rest = v & ~sum(b for b in bits if v & b)
        return f"{v:#x} ({' | '.join(names + ([hex(rest)] if rest else [])) or 'none'})"

    bad = []
    for name in have:
        if name not in want:
            bad.append(f"set {name} is in the module but in none of the sources")
    for name, decl in want.items():
        if name not in have:
            bad.append(f"set {name}: no __BTF_ID__set8__{name} in the module's .BTF_ids")
            continue
        off, size = syms["__BTF_ID__set8__" + name]
        if size < 8 or off + size > len(ids):
            bad.append(f"set {name}: symbol ({size} bytes at {off}) outside .BTF_ids")
            continue
        cnt, = struct.unpack_from(e + "I", ids, off)
        n = len(decl)
        if cnt != n or size != 8 + 8 * n:
            bad.append(f"set {name}: {n} kfuncs declared, module has cnt {cnt}, "
                       f"size {size} bytes")
        pairs = [struct.unpack_from(e + "II", ids, off + 8 + 8 * i)
                 for i in range(min(cnt, (size - 8) // 8))]
        found = {}
        for i, (id_, flags) in enumerate(pairs):
            if not id_:
                bad.append(f"set {name}: entry {i} has BTF id 0 (unresolved), flags {fl(flags)}")
            elif id_ not in funcs:
                bad.append(f"set {name}: entry {i}: id {id_} is no FUNC in the module's BTF")
            elif funcs[id_] in found:
                bad.append(f"set {name}: {funcs[id_]} appears twice")
            else:
                found[funcs[id_]] = flags
        if [p[0] for p in pairs] != sorted({p[0] for p in pairs}):
            bad.append(f"set {name}: ids not sorted: the kernel's binary search misses kfuncs")
        for func, flags in decl:
            if func not in found:
                bad.append(f"set {name}: {func}: declared {fl(flags)}, not in the module")
            elif found[func] != flags:
                bad.append(f"set {name}: {func}: declared {fl(flags)}, found {fl(found[func])}")
        for func in found.keys() - {f for f, _ in decl}:
            bad.append(f"set {name}: {func}: in the module ({fl(found[func])}), not declared")

    for b in bad:
        print(f"{mod}: kfunc flags: {b}", file=sys.stderr)
    if bad:
        print(f"{mod}: {FIX.format(a.btf_base)}", file=sys.stderr)
        return 1
    if a.verbose:
        print(f"{mod}: kfunc flags as declared: {len(want)} sets, "
              f"{sum(map(len, want.values()))} kfuncs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
