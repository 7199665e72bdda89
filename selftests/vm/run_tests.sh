#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM: load the modules, run the in-VM suites (kselftest TAP),
# then unload the modules.  rmmod must succeed: a table or reference left
# behind by any test fails the run.  On a kernel with kmemleak, any leak whose
# allocation trace is in hmap's modules fails it too.
# Last line: "HMAP-TOTALS <pass> <fail> <skip>".
#   run_tests.sh [TEST-BINARY-NAME [harness args, e.g. -t model_every_flag_and_size]]
# Environment: HMAP_KMOD (the .ko directory, default $HMAP_BUILD/kmod/$(uname -r)),
# HMAP_SUITES (test binaries to run, default all), HMAP_TIMEOUT_SCALE,
# HMAP_PARAMS (hmap.ko's module parameters, e.g. hugepages=1).
B=${HMAP_BUILD:?}
export HMAP_KMOD=${HMAP_KMOD:-$B/kmod/$(uname -r)}
pass=0 fail=0 skip=0
only=${1:-}
[ $# -gt 0 ] && shift
LEAKS=/sys/kernel/debug/kmemleak

# Objects allocated before the suites are not theirs: mark them reported.
# A kernel with kmemleak that has turned itself off (dmesg says why) must
# not pass for a clean one.
if [ -e $LEAKS ] && ! { echo scan > $LEAKS && echo clear > $LEAKS; } 2>/dev/null; then
	echo "not ok - kmemleak is built in but not working:"
	dmesg | grep -i kmemleak | sed 's/^/#   /'
	echo "HMAP-TOTALS 0 1 0"
	exit 1
fi

for m in hmap hmap_rehash; do
	params=
	[ $m = hmap ] && params=${HMAP_PARAMS:-}
	# shellcheck disable=SC2086 # word-split: one module parameter each
	if ! insmod "$HMAP_KMOD/$m.ko" $params; then
		echo "not ok - insmod $HMAP_KMOD/$m.ko"
		echo "HMAP-TOTALS 0 1 0"
		exit 1
	fi
done
# Where the modules' code lives, to trace leaks after they are unloaded.
ranges=$(awk '$1 ~ /^hmap(_rehash)?$/ { print $6, $2 }' /proc/modules)

num() { case $1 in ''|*[!0-9]*) return 1 ;; esac; }

for t in "$B"/selftests/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	[ -n "$only" ] && [ "$name" != "$only" ] && continue
	if [ -n "${HMAP_SUITES:-}" ]; then
		case " $HMAP_SUITES " in *" $name "*) ;; *) continue ;; esac
	fi
	out=/tmp/$name.tap
	start=$(date +%s)
	"$t" "$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	echo "# $name: $(( $(date +%s) - start ))s"
	totals=$(grep '^# Totals:' "$out" | tail -n1)
	if [ "$rc" = 4 ] && [ -z "$totals" ]; then
		echo "ok - $name # SKIP $(sed -n 's/.*# SKIP //p' "$out" | head -n1)"
		skip=$((skip + 1))
		continue
	fi
	p=$(echo "$totals" | sed -n 's/.* pass:\([0-9]*\) .*/\1/p')
	f=$(echo "$totals" | sed -n 's/.* fail:\([0-9]*\) .*/\1/p')
	s=$(echo "$totals" | sed -n 's/.* skip:\([0-9]*\) .*/\1/p')
	if ! num "$p" || ! num "$f" || ! num "$s"; then
		echo "not ok - $name exited $rc without a well-formed TAP summary"
		fail=$((fail + 1))
		continue
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited $rc"
		fail=$((fail + 1))
	fi
done

rm -rf /sys/fs/bpf/hmap-test* /sys/fs/bpf/hmap-rehash-test /sys/fs/bpf/hmap-stress*
# Suites reload the modules: the instance unloaded last may sit elsewhere.
ranges="$ranges
$(awk '$1 ~ /^hmap(_rehash)?$/ { print $6, $2 }' /proc/modules)"
if rmmod hmap_rehash && rmmod hmap; then
	echo "ok - rmmod hmap_rehash hmap: no table or reference left behind"
	pass=$((pass + 1))
else
	echo "not ok - rmmod failed: a table or reference leaked"
	fail=$((fail + 1))
fi

# kmemleak reports an object once it is older than 5 s and unreferenced in
# a scan; the modules are gone, so their frames print as bare addresses
# (after a hashed one in brackets).
if [ -e $LEAKS ]; then
	sleep 6
	echo scan > $LEAKS
	sleep 1
	echo scan > $LEAKS
	leaks=$(awk -v ranges="$ranges" '
		function hex(s,   i, v) {	# exact: 12 digits fit a double
			v = 0
			for (i = 1; i <= length(s); i++)
				v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
			return v
		}
		function ours(line,   n, i, r, a, lo) {
			if (line ~ /\[hmap(_rehash)?\]|hmap_|hgr_|hrh_/)
				return 1
			# "[<hashed>] 0x<address>": a frame no symbol names
			if (line !~ /^ *\[</ || !match(line, /0x[0-9a-f]+$/))
				return 0
			a = substr(line, RSTART + 2)
			n = split(ranges, r, /[ \n]/)
			for (i = 1; i + 1 <= n; i += 2) {
				lo = r[i]; sub(/^0x/, "", lo)
				if (length(a) == 16 && length(lo) == 16 &&
				    substr(a, 1, 4) == substr(lo, 1, 4) &&
				    hex(substr(a, 5)) >= hex(substr(lo, 5)) &&
				    hex(substr(a, 5)) < hex(substr(lo, 5)) + r[i + 1])
					return 1
			}
			return 0
		}
		/^unreferenced object/ { if (blk != "" && hit) printf "%s", blk; blk = ""; hit = 0 }
		{ blk = blk $0 "\n"; if (ours($0)) hit = 1 }
		END { if (blk != "" && hit) printf "%s", blk }' $LEAKS)
	if [ -n "$leaks" ]; then
		echo "not ok - kmemleak: memory allocated by hmap was never freed:"
		echo "$leaks" | sed 's/^/#   /'
		fail=$((fail + 1))
	else
		echo "ok - kmemleak: no leak traced to hmap ($(grep -c '^unreferenced object' $LEAKS) elsewhere)"
		pass=$((pass + 1))
	fi
fi
echo "HMAP-TOTALS $pass $fail $skip"
[ "$fail" = 0 ]
