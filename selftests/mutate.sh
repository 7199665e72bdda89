#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make mutate: plant small deliberate bugs one at a time in a scratch copy of
# the tree, run the suites that should catch each, and print which survive.
# A test suite that still passes with a bug planted asserts less than it
# claims.  Exits non-zero if any mutant survives.  On demand, not in CI: each
# mutant rebuilds and may boot a VM (about 30-60 minutes for all).
#
#   mutate.sh [NAME...]     only the named mutants (default: all)
#   mutate.sh --list        list them
#
# Each mutant is an exact text replacement that must match once, so a mutant
# whose code moved fails loudly instead of testing nothing.  Catchers:
#   host:T   build/selftests/T on the host (ASan, UBSan, LSan)
#   vm:T     suite T in the VM on Debian's kernel
#   dbg:T    suite T in the VM on the debug kernel (KASAN, lockdep, kmemleak)
# The first catcher that fails catches the mutant; later ones are not run.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${HMAP_MUTATE_DIR:-$SRC/build/mutate}
KVER=${KVER:-$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sed 's|^/boot/vmlinuz-||' | grep -v -- -rt- | sort -V | tail -n1)}

# mutant NAME FILE CATCHERS OLD NEW   (OLD/NEW: \t and \n escapes)
NAMES=() FILES=() CATCHERS=() OLDS=() NEWS=()
mutant() { NAMES+=("$1") FILES+=("$2") CATCHERS+=("$3") OLDS+=("$4") NEWS+=("$5"); }

mutant seq-increments-removed kmod/hmap_engine.h \
	"host:engine_test host:reader_test vm:test_hmap vm:test_stress" \
	'\tWRITE_ONCE(head->seq, hmap_seq_next(head->seq));\n\tsmp_wmb();\n}\n\nstatic __always_inline void hmap_seq_end(struct hmap_bucket *head)\n{\n\thmap_seq_end_hook(head);\n\tsmp_wmb();\n\tWRITE_ONCE(head->seq, hmap_seq_next(head->seq));\n}' \
	'\tsmp_wmb();\n}\n\nstatic __always_inline void hmap_seq_end(struct hmap_bucket *head)\n{\n\thmap_seq_end_hook(head);\n\tsmp_wmb();\n}'
mutant lookup-or-init-never-inserts kmod/hmap_engine.c \
	"host:engine_test vm:test_hmap vm:test_stress" \
	'\tif (flags == HMAP_EXIST)\n\t\treturn -ENOENT;' \
	'\tif (flags == HMAP_EXIST || flags == HMAP_INIT)\n\t\treturn -ENOENT;'
mutant value-reuse-without-grace-period kmod/hmap_rehash_main.c \
	"vm:test_rehash vm:test_stress" \
	'\t\tif (hgr_reclaim_start(&h->g))\n\t\t\tcall_rcu_tasks_trace(&h->reclaim_rcu, hrh_reclaim_after_trace);' \
	'\t\tif (hgr_reclaim_start(&h->g))\n\t\t\thrh_reclaim_done(&h->reclaim_rcu);'
# test_hmap's removed_table_outlives_a_sleepable_program_using_it holds a
# value pointer in a running sleepable program across the table's removal.
mutant table-freed-without-grace-period kmod/hmap_table.c \
	"vm:test_hmap" \
	'\tcall_rcu_tasks_trace(&t->rcu, hmap_free_rcu_trace);' \
	'\t(void)hmap_free_rcu_trace;\n\thmap_free_rcu(&t->rcu);'
# The VM boots the newest kernel (6.12), where these types have kfunc hooks.
mutant kfuncs-for-6.1-types-only kmod/hmap_kfunc.c \
	"vm:test_progtypes" \
	'#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)\n\t{ BPF_PROG_TYPE_SCHED_ACT,' \
	'#if 0\n\t{ BPF_PROG_TYPE_SCHED_ACT,'
mutant stats-from-tc kmod/hmap_kfunc.c \
	"vm:test_progtypes" \
	'\t{ BPF_PROG_TYPE_SCHED_CLS,\t&hmap_kfunc_set_data },' \
	'\t{ BPF_PROG_TYPE_SCHED_CLS,\t&hmap_kfunc_set_data_stats },'
# Hangs both vCPUs with IRQs off: caught as the VM's timeout.
mutant nested-lock-waits kmod/hmap_platform.h \
	"vm:test_hmap" \
	'\tif (unlikely(this_cpu_inc_return(hmap_locks_held) != 1 || in_nmi())) {' \
	'\tif (unlikely((this_cpu_inc_return(hmap_locks_held), in_nmi()))) {'
mutant overflow-link-off-by-one kmod/hmap_engine.c \
	"host:engine_test vm:test_hmap" \
	'\treturn t->l.nbuckets + idx;\t/* zeroed memory: all EMPTY_REST */' \
	'\treturn t->l.nbuckets + idx - 1;\t/* zeroed memory: all EMPTY_REST */'
mutant overflow-never-recycled kmod/hmap_engine.c \
	"host:engine_test" \
	'\tif (prev && !(word & ~HMAP_BYTES_01)) {' \
	'\tif (0 && prev && !(word & ~HMAP_BYTES_01)) {'
mutant overflow-unlinked-after-seq-end kmod/hmap_engine.c \
	"host:engine_test" \
	'\t\tWRITE_ONCE(prev->overflow, found_b->overflow);\n\t\thmap_ovf_free(t, found_idx);\n\t}\n\thmap_seq_end(head);' \
	'\t\thmap_seq_end(head);\n\t\tWRITE_ONCE(prev->overflow, found_b->overflow);\n\t\thmap_ovf_free(t, found_idx);\n\t\tif (t->entries)\n\t\t\thmap_atomic64_dec(t->entries);\n\t\treturn 0;\n\t}\n\thmap_seq_end(head);'
mutant in-place-walk-unvalidated user/libhmap_reader.c \
	"host:reader_test" \
	'\t\t\tn = hmap_chain_slots(r, a, bi, ptrs, max, tries < HMAP_READ_RETRIES - 1);' \
	'\t\t\tn = hmap_chain_slots(r, a, bi, ptrs, max, false);'
mutant no-fmode-write-check kmod/hmap_dev.c \
	"vm:test_rehash vm:test_fuzz" \
	'\tif (cmd != HMAP_IOC_LOOKUP && !(file->f_mode & FMODE_WRITE))' \
	'\tif (0 && cmd != HMAP_IOC_LOOKUP && !(file->f_mode & FMODE_WRITE))'
mutant libhmap-chunk-index-unchecked user/libhmap_reader.c \
	"host:reader_test" \
	'\tif (c >= r->nchunks)\n\t\treturn NULL;' \
	'\tif (0 && c >= r->nchunks)\n\t\treturn NULL;'
mutant libhmap-overflow-link-unchecked user/libhmap_reader.c \
	"host:reader_test" \
	'\t\tif (next < a->nbuckets || next >= a->ntotal || ++hops >= a->ntotal)\n\t\t\treturn -EAGAIN;\t/* torn' \
	'\t\tif (next < a->nbuckets || ++hops >= a->ntotal)\n\t\t\treturn -EAGAIN;\t/* torn'

# Bugs only the debug kernel can see: they must fail its run.
mutant kasan-out-of-bounds-write-in-kfunc kmod/hmap_kfunc.c \
	"dbg:test_hmap" \
	'\tif (v || !t)\n\t\treturn v;\n\tif (hmap_do_update(t, key, NULL, HMAP_INIT, &v))' \
	'\tif (t)\n\t\t((volatile u8 *)t)[sizeof(*t)] = 0;\n\tif (v || !t)\n\t\treturn v;\n\tif (hmap_do_update(t, key, NULL, HMAP_INIT, &v))'
mutant lockdep-lock-order-inversion kmod/hmap_dev.c \
	"dbg:test_fuzz" \
	'\tswitch (cmd) {\n\tcase HMAP_IOC_LOOKUP:\n' \
	'\t{\n\t\tstatic DEFINE_SPINLOCK(mut_a);\n\t\tstatic DEFINE_SPINLOCK(mut_b);\n\t\tspinlock_t *x = cmd == HMAP_IOC_LOOKUP ? &mut_a : &mut_b;\n\t\tspinlock_t *y = x == &mut_a ? &mut_b : &mut_a;\n\n\t\tspin_lock(x);\n\t\tspin_lock(y);\n\t\tspin_unlock(y);\n\t\tspin_unlock(x);\n\t}\n\tswitch (cmd) {\n\tcase HMAP_IOC_LOOKUP:\n'
mutant kmemleak-lock-array-never-freed kmod/hmap_table.c \
	"dbg:test_fuzz" \
	'\t\tmodule_put(t->ops->owner);\n\t}\n\tvfree(t->array);\n\tvfree(t->shm);\n\thmap_locks_free(&t->tab.locks);\n' \
	'\t\tmodule_put(t->ops->owner);\n\t}\n\tvfree(t->array);\n\tvfree(t->shm);\n'

if [ "${1:-}" = --list ]; then
	for i in "${!NAMES[@]}"; do
		printf '%-36s %-26s %s\n' "${NAMES[$i]}" "${FILES[$i]}" "${CATCHERS[$i]}"
	done
	exit 0
fi

# Replace exactly one occurrence of OLD with NEW in FILE.
plant() {
	python3 - "$1" "$2" "$3" <<'EOF'
import sys
path, old, new = sys.argv[1:]
dec = lambda s: s.replace('\\t', '\t').replace('\\n', '\n')
old, new = dec(old), dec(new)
text = open(path).read()
n = text.count(old)
if n != 1:
    sys.exit(f"mutate.sh: {path}: the text to replace occurs {n} times, not once:\n{old}")
open(path, 'w').write(text.replace(old, new))
EOF
}
# Every mutant must still apply to today's code before anything is built.
for i in "${!NAMES[@]}"; do
	tmp=$(mktemp)
	cp "$SRC/${FILES[$i]}" "$tmp"
	plant "$tmp" "${OLDS[$i]}" "${NEWS[$i]}" || { rm -f "$tmp"; echo "  (mutant ${NAMES[$i]})" >&2; exit 1; }
	rm -f "$tmp"
done

# A scratch copy of the working tree (tracked and untracked files, not build/).
mkdir -p "$WORK"
rm -rf "$WORK/logs"
mkdir -p "$WORK/logs"
SB=$WORK/src
rm -rf "$SB"
mkdir -p "$SB"
(cd "$SRC" && git ls-files -co --exclude-standard -z | cpio -0pdm --quiet "$SB")
MB=$WORK/build
mk() { make -s -C "$SB" BUILD="$MB" KSRC="$SRC/build/linux-source" KVER="$KVER" "$@"; }

echo "== building the unmutated scratch tree"
mk all >/dev/null || { echo "mutate.sh: the unmutated tree does not build" >&2; exit 1; }

# 0: the suite passed; 1: it failed (caught); 2: the mutant did not build,
# which proves nothing about the tests.
run_catcher() {	# host:T | vm:T | dbg:T; output in $LOG
	local kind=${1%%:*} t=${1#*:} tree
	exec 3>"$LOG"
	case $kind in
	host)
		mk "$MB/selftests/$t" >/dev/null 2>&1 || return 2
		"$MB/selftests/$t" >&3 2>&1 ;;
	vm)
		mk all >/dev/null 2>&1 || return 2
		HMAP_SRC=$SB HMAP_BUILD=$MB KVER=$KVER "$SRC/selftests/vm/vm.sh" --timeout 1500 -- \
			sh "$SB/selftests/vm/run_tests.sh" "$t" >&3 2>&1 ;;
	dbg)
		mk all >/dev/null 2>&1 && mk debug-modules >/dev/null 2>&1 &&
			tree=$("$SB/selftests/debug/debug-kernel.sh" --cached) || return 2
		HMAP_SRC=$SB HMAP_BUILD=$MB KVER=debug VMLINUZ=$tree/arch/x86/boot/bzImage \
			"$SRC/selftests/vm/vm.sh" --mem 3G --timeout 3600 -- env HMAP_KMOD="$MB/dbg/kmod" \
			HMAP_TIMEOUT_SCALE=10 sh "$SB/selftests/vm/run_tests.sh" "$t" >&3 2>&1 ;;
	esac
}

survived=() caught=0
for i in "${!NAMES[@]}"; do
	name=${NAMES[$i]} file=${FILES[$i]} catchers=${CATCHERS[$i]}
	if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
	cp "$SRC/$file" "$SB/$file"
	plant "$SB/$file" "${OLDS[$i]}" "${NEWS[$i]}" || exit 1
	by="" broken=""
	for c in $catchers; do
		start=$(date +%s)
		LOG=$WORK/logs/$name.${c/:/.}.log
		run_catcher "$c"
		rc=$?
		if [ $rc = 2 ]; then
			broken=$c
			break
		elif [ $rc != 0 ]; then
			by="$c ($(( $(date +%s) - start ))s)"
			break
		fi
		echo "   $name: $c passed"
	done
	cp "$SRC/$file" "$SB/$file"
	if [ -n "$broken" ]; then
		echo "BROKEN   $name: does not build for $broken (fix the mutant)"
		survived+=("$name")
	elif [ -n "$by" ]; then
		echo "caught   $name by $by"
		# The first line that says why, and where the whole output is.
		grep -m1 -E 'BUG: KASAN|circular locking|unreferenced object|kmemleak:.*never freed|BUG:|WARNING:|Expected|not ok|ERROR: AddressSanitizer|LeakSanitizer' "$LOG" |
			sed 's/^/           /'
		echo "           (output: $LOG)"
		caught=$((caught + 1))
	else
		echo "SURVIVED $name (ran: $catchers)"
		survived+=("$name")
	fi
done

echo "$caught caught, ${#survived[@]} survived${survived:+: ${survived[*]}}"
[ ${#survived[@]} -eq 0 ]
