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
# instead.  Destructors are the functions named *_dtor (kmod/hmap_main.c).
# A module without the section (a kernel without IBT) passes.
set -eu
rc=0
for ko in "$@"; do
	readelf -SW "$ko" | grep -q '\.rela\.ibt_endbr_seal' || continue
	syms=$(readelf -sW "$ko" | awk '$4 == "FUNC" && $7 ~ /^[0-9]+$/ { print $2, $8 }')
	for off in $(readelf -rW "$ko" | awk '
		/^Relocation section/ { f = ($0 ~ /\.rela\.ibt_endbr_seal/); next }
		f && NF >= 3 && $(NF-2) == ".text" && $(NF-1) == "+" { print $NF }'); do
		name=$(printf '%s\n' "$syms" | awk -v a="$(printf '%016x' "0x$off")" 'tolower($1) == a { print $2 }')
		case $name in
		*_dtor)
			echo "error: $(basename "$ko"): $name is sealed (.ibt_endbr_seal):" \
				"the kernel calls it indirectly; mark it CFI_NOSEAL()" >&2
			rc=1 ;;
		esac
	done
done
exit $rc
