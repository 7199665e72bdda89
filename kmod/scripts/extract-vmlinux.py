#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Extract the ELF vmlinux (with .BTF) from an xz-compressed bzImage.

Debian's headers ship no vmlinux, but module BTF must be generated against
the exact base BTF of the kernel that will load the module.
"""
import lzma
import sys

XZ_MAGIC = b"\xfd7zXZ\x00"


def main() -> int:
    if len(sys.argv) != 3:
        print("usage: extract-vmlinux.py BZIMAGE OUT", file=sys.stderr)
        return 2
    data = open(sys.argv[1], "rb").read()
    start = data.find(XZ_MAGIC)
    while start >= 0:
        try:
            out = lzma.LZMADecompressor().decompress(data[start:])
        except lzma.LZMAError:
            out = b""
        if out.startswith(b"\x7fELF"):
            with open(sys.argv[2], "wb") as f:
                f.write(out)
            return 0
        start = data.find(XZ_MAGIC, start + 1)
    print(f"{sys.argv[1]}: no xz-compressed ELF payload found "
          "(is CONFIG_KERNEL_XZ set? pass VMLINUX_BTF=... instead)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
