#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Add split BTF to a module and resolve its BTF ids, as kbuild does when the
# kernel tree has a vmlinux; fail loudly if the result has no .BTF section,
# since kfuncs cannot be registered without it.
#   module-btf.sh VMLINUX_BTF RESOLVE_BTFIDS MODULE.ko
set -eu
base=$1 resolve=$2 ko=$3
pahole -J --btf_gen_floats -j --lang_exclude=rust --btf_base "$base" "$ko"
"$resolve" -b "$base" "$ko"
if ! readelf -S "$ko" | grep -q ' \.BTF '; then
	echo "error: $ko has no .BTF section after pahole: its kfuncs cannot be registered." >&2
	echo "       Check that pahole (dwarves) >= 1.22 is installed and $base has BTF." >&2
	exit 1
fi
