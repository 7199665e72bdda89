#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# hmapctl and the example programs, end to end, in the VM (TAP 13; run by
# run_tests.sh with hmap.ko loaded).  Every CLI error path is checked for its
# message and exit code; traffic through veth between two namespaces is
# counted by xdp_flowcount and compared with what the sender counted; tc and
# fentry programs are attached, checked and detached; cleanup leaves no pins,
# links or tables.
SRC=${HMAP_SRC:?} B=${HMAP_BUILD:?}
# HMAP_CTL: another hmapctl binary, to show that a new test fails on old code.
CTL=${HMAP_CTL:-$B/hmapctl}
. "$SRC/selftests/vm/lib.sh"
T=/tmp/hmapctl-test
mkdir -p $T

n=0 pass=0 fail=0 skip=0
echo "TAP version 13"
# kselftest convention: a missing prerequisite is a skip (exit 4).
for need in "$(id -u):0:needs root" "$(test -e /dev/hmap; echo $?):0:hmap.ko is not loaded" \
	    "$(command -v python3 >/dev/null; echo $?):0:needs python3" \
	    "$(command -v nsenter >/dev/null; echo $?):0:needs nsenter (util-linux)"; do
	have=${need%%:*} rest=${need#*:} want=${rest%%:*} why=${rest#*:}
	if [ "$have" != "$want" ]; then
		echo "1..0 # SKIP $why"
		exit 4
	fi
done
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; }
skipped() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }

# expect CODE TEXT DESC CMD...: CMD exits CODE and prints TEXT (stdout or stderr).
expect() {
	code=$1 text=$2 desc=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	if [ "$rc" = "$code" ] && { [ -z "$text" ] || printf '%s' "$out" | grep -qF -- "$text"; }; then
		ok "$desc"
	else
		not_ok "$desc"
		echo "# exit $rc (want $code), wanted text: $text"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}

# check DESC CMD...: CMD succeeds.
check() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then ok "$desc"; else not_ok "$desc"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}

# Little-endian hex bytes, one word each (after the word 'hex', as bpftool
# reads them), without starting python (seconds each under TCG).
le64() { printf '%016x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\8 \7 \6 \5 \4 \3 \2 \1/'; }
le32() { printf '%08x' "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4 \3 \2 \1/'; }
json_field() {	# json_field FILE EXPR: evaluate EXPR on the parsed JSON as "j"
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
value_u64() {	# value_u64 JSONFILE INDEX: u64 number INDEX of a -j lookup's value
	json_field "$1" "int.from_bytes(bytes(int(b,16) for b in j['value'])[8*$2:8*$2+8], 'little')"
}

cleanup() {
	in_b "$CTL" detach xdp vb >/dev/null 2>&1
	in_a "$CTL" detach tc va egress >/dev/null 2>&1
	"$CTL" detach fentry fentry_writes >/dev/null 2>&1
	for p in xdp_flowcount tc_budget fentry_writes; do "$CTL" prog unload $p >/dev/null 2>&1; done
	for t in t tiny flows budget writes pairs help j1 typed big; do "$CTL" rm $t >/dev/null 2>&1; done
	veth_down
}
cleanup

# ---- help and usage ------------------------------------------------------------
expect 0 "Usage: hmapctl" "--help" "$CTL" --help
for c in create list show stats lookup update delete dump rm prog attach detach; do
	expect 0 "Usage: hmapctl [OPTIONS] $c" "$c --help" "$CTL" $c --help
done
expect 2 "Usage: hmapctl" "no command: usage, exit 2" "$CTL"
expect 2 "unknown command 'bogus'" "unknown command" "$CTL" bogus
expect 0 "Usage: hmapctl [OPTIONS] COMMAND" "help is a command" "$CTL" help
expect 0 "Usage: hmapctl [OPTIONS] show" "help COMMAND" "$CTL" help show
expect 0 "Usage: hmapctl [OPTIONS] prog" "prog unload --help exits 0" "$CTL" prog unload --help
expect 0 "Usage: hmapctl [OPTIONS] prog" "prog help" "$CTL" prog help
expect 0 "Usage: hmapctl [OPTIONS] show" "a unique prefix is the command" "$CTL" sh --help
expect 2 "ambiguous command 's': show, stats" "an ambiguous prefix names the candidates" "$CTL" s x
check "--version names hmapctl's and libhmap's" sh -c "'$CTL' --version | grep -q '^hmapctl ' && '$CTL' --version | grep -q '^libhmap [0-9]'"
expect 2 "unknown option '--bogus'" "unknown global option" "$CTL" --bogus list
expect 2 "create needs --key-size, --value-size and --capacity" "create without sizes" "$CTL" create t
expect 2 "is not a table name" "create with a bad name" "$CTL" create a/b --key-size 8 --value-size 8 --capacity 8
expect 2 "--key-size 'x' is not a number" "create with a bad number" "$CTL" create t --key-size x --value-size 8 --capacity 8
expect 2 "--variant is 'fixed' or 'incremental'" "create with a bad variant" "$CTL" create t --key-size 8 --value-size 8 --capacity 8 --variant big

# ---- module and privileges ----------------------------------------------------
rehash_was=$(grep -c '^hmap_rehash ' /proc/modules)
[ "$rehash_was" = 1 ] && rmmod hmap_rehash
if rmmod hmap 2>/dev/null; then
	expect 1 "hmap.ko is not loaded" "module not loaded: says to insmod" "$CTL" create t --key-size 8 --value-size 8 --capacity 8
	# The hint names the module beside this binary, by absolute path, from any directory.
	expect 1 "run 'insmod $B/kmod/$(uname -r)/hmap.ko'" "module not loaded: names the command" \
		sh -c "cd / && '$CTL' list"
	insmod "${HMAP_KMOD:-$B/kmod/$(uname -r)}/hmap.ko"
else
	skipped "module not loaded: says to insmod" "hmap.ko in use"
	skipped "module not loaded: names the command" "hmap.ko in use"
fi
[ "$rehash_was" = 1 ] && insmod "${HMAP_KMOD:-$B/kmod/$(uname -r)}/hmap_rehash.ko"
rehash_loaded=$(grep -c '^hmap_rehash ' /proc/modules)
[ "$rehash_loaded" = 1 ] && rmmod hmap_rehash
expect 1 "needs hmap_rehash.ko: run 'insmod $B/kmod/$(uname -r)/hmap_rehash.ko'" "incremental without hmap_rehash.ko" \
	"$CTL" create t --key-size 8 --value-size 8 --capacity 8 --variant incremental
insmod "${HMAP_KMOD:-$B/kmod/$(uname -r)}/hmap_rehash.ko"
expect 0 "created table 'inc'" "create --variant incremental" \
	"$CTL" create inc --key-size 8 --value-size 8 --capacity 52 --variant incremental
expect 0 "variant incremental" "show an incremental table" "$CTL" show inc
expect 0 "" "update an incremental table" "$CTL" update inc key hex $(le64 7) value hex $(le64 49)
expect 0 "value: 31 00 00 00 00 00 00 00" "lookup an incremental table (zero-copy)" "$CTL" lookup inc key hex $(le64 7)
if [ "$("$CTL" dump inc --count)" = 1 ]; then ok "dump --count an incremental table"
else not_ok "dump --count an incremental table"; fi
expect 0 "removed 'inc'" "rm the incremental table" "$CTL" rm inc
expect 0 "created table 'capped'" "create an incremental table capped at 100" \
	"$CTL" create capped --key-size 8 --value-size 8 --capacity 13 --max-capacity 100 --variant incremental
i=0 rc=0
while [ $i -lt 100 ] && [ $rc = 0 ]; do
	"$CTL" update capped key hex $(le64 $i) value hex $(le64 $i) >/dev/null 2>&1
	rc=$?
	[ $rc != 0 ] && sleep 0.2 && "$CTL" update capped key hex $(le64 $i) value hex $(le64 $i) >/dev/null 2>&1 && rc=0
	i=$((i + 1))
done
if [ $rc = 0 ]; then ok "it grows to hold 100 entries"; else not_ok "it grows to hold 100 entries"; echo "# stopped at $i"; fi
expect 1 "table 'capped' is full (capacity 100)" "the 101st is refused" "$CTL" update capped key hex $(le64 100) value hex $(le64 1)
expect 0 "removed 'capped'" "rm the capped table" "$CTL" rm capped
expect 1 "can be at most 109051904 entries" "--max-capacity 2^44 refused, naming the limit" \
	"$CTL" create huge --key-size 8 --value-size 8 --capacity 8 --variant incremental --max-capacity 17592186044416
expect 1 "at least --capacity" "--max-capacity below --capacity" \
	"$CTL" create huge --key-size 8 --value-size 8 --capacity 100 --variant incremental --max-capacity 99
[ "$rehash_loaded" = 1 ] || rmmod hmap_rehash
expect 1 "invalid table shape" "key size 0" "$CTL" create t --key-size 0 --value-size 8 --capacity 8
expect 1 "table too large" "value size 5000" "$CTL" create t --key-size 8 --value-size 5000 --capacity 8
expect 0 "created table 't'" "create" "$CTL" create t --key-size 8 --value-size 8 --capacity 100
expect 1 "table 't' already exists" "create twice" "$CTL" create t --key-size 8 --value-size 8 --capacity 100
expect 1 "permission denied" "create as nobody" \
	setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" create u --key-size 8 --value-size 8 --capacity 8
expect 1 "permission denied" "show as nobody" setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" show t
expect 1 "opening a table needs CAP_SYS_ADMIN" "without CAP_SYS_ADMIN: names that capability" \
	setpriv --bounding-set=-sys_admin "$CTL" show t
expect 1 "no table named 'nosuch'" "show an unknown name" "$CTL" show nosuch
expect 0 "" "global options after the command (show t -j)" sh -c "'$CTL' show t -j | python3 -m json.tool"
expect 0 "" "global options anywhere (list --pin-root DIR -p)" sh -c "'$CTL' list --pin-root /sys/fs/bpf/hmap -p | python3 -m json.tool"
expect 0 "created table 'help'" "a table may be named help" "$CTL" create help --key-size 4 --value-size 4 --capacity 4
expect 0 "help  variant fixed" "show help shows the table named help" "$CTL" show help
expect 0 "removed 'help'" "rm help removes it" "$CTL" rm help
expect 1 "no table named 'nosuch'" "rm an unknown name" "$CTL" rm nosuch
expect 1 "see 'hmapctl list'" "an unknown name points to list" "$CTL" dump nosuch

# bpffs missing: hmapctl mounts it (in a private mount namespace here).
expect 0 "created table 'm'" "bpffs not mounted: mounted on demand" \
	unshare -m sh -c "umount /sys/fs/bpf && $CTL create m --key-size 8 --value-size 8 --capacity 8 && $CTL rm m"

# ---- elements ---------------------------------------------------------------------
K1="1 2 3 4 5 6 7 8"
expect 0 "" "update" "$CTL" update t key $K1 value hex 2a 00 00 00 00 00 00 00
expect 0 "value: 2a 00 00 00 00 00 00 00" "lookup (zero-copy)" "$CTL" lookup t key $K1
# Bytes as bpftool reads them: decimal words, 0x hex, 0 octal; hex after 'hex'.
expect 0 "" "update with decimal bytes" "$CTL" update t key 10 20 30 40 50 60 70 255 value 42 0 0 0 0 0 0 0
expect 0 "value: 2a 00 00 00 00 00 00 00" "lookup them after hex" "$CTL" lookup t key hex 0a 14 1e 28 32 3c 46 ff
expect 0 "key: 0a 14 1e 28 32 3c 46 ff" "lookup them as 0x bytes and octal" "$CTL" lookup t key 0x0a 0x14 036 0x28 50 0x3c 0x46 0xff
expect 0 "" "delete them" "$CTL" delete t key 10 20 30 40 50 60 70 255
expect 2 "key byte 'zz' is not a byte" "lookup with a bad byte" "$CTL" lookup t key zz 2 3 4 5 6 7 8
expect 2 "key byte '256' is not a byte" "a byte above 255" "$CTL" lookup t key 256 2 3 4 5 6 7 8
expect 2 "'0a' is not a byte: one word per byte, decimal" "hex without 'hex' is refused" "$CTL" lookup t key 0a 2 3 4 5 6 7 8
expect 2 "key byte '08' is not a byte: one word per byte, decimal (0 to 255), 0x-prefixed hex or 0-prefixed octal" \
	"a leading 0 is octal, as in bpftool: 08 is refused, naming why" "$CTL" lookup t key 1 2 3 4 5 6 7 08
expect 2 "'0102030405060708' is not a byte" "one word of many bytes is refused" "$CTL" lookup t key 0102030405060708
expect 2 "key has 1 bytes, the table's keys have 8" "lookup with a short key" "$CTL" lookup t key 01
expect 2 "key has more than 8 bytes" "lookup with a long key" "$CTL" lookup t key 1 2 3 4 5 6 7 8 9
expect 1 "key already in 't' (noexist)" "update noexist on a present key" "$CTL" update t key $K1 value 0 0 0 0 0 0 0 0 noexist
expect 1 "key not found in 't'" "update exist on an absent key" "$CTL" update t key 9 9 9 9 9 9 9 9 value 0 0 0 0 0 0 0 0 exist
expect 2 "unknown update flag 'sometimes'" "update with a bad flag" "$CTL" update t key $K1 value 00 00 00 00 00 00 00 00 sometimes
expect 1 "key not found in 't'" "lookup an absent key" "$CTL" lookup t key 9 9 9 9 9 9 9 9
expect 0 "" "delete" "$CTL" delete t key $K1
expect 1 "key not found in 't'" "delete twice" "$CTL" delete t key $K1
expect 0 "created table 'tiny'" "create a 1-entry table" "$CTL" create tiny --key-size 4 --value-size 4 --capacity 1
expect 0 "" "fill it" "$CTL" update tiny key 01 00 00 00 value 01 00 00 00
expect 1 "table 'tiny' is full (capacity 1)" "insert into a full table" "$CTL" update tiny key 02 00 00 00 value 01 00 00 00

# ---- TABLE: NAME, name NAME, id ID or pinned PATH, as bpftool's MAP ------------------
t_id=$("$CTL" -j show t | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
mkdir -p /sys/fs/bpf/elsewhere
ln_desc() { bpftool map pin pinned /sys/fs/bpf/hmap/t /sys/fs/bpf/elsewhere/t2; }
check "the descriptor pinned a second time, outside the pin root (bpftool map pin)" ln_desc
expect 0 "$t_id: t  variant fixed" "show id ID" "$CTL" show id $t_id
expect 0 "pinned /sys/fs/bpf/elsewhere/t2" "show pinned PATH names that pin" "$CTL" show pinned /sys/fs/bpf/elsewhere/t2
expect 0 "$t_id: t  variant fixed" "show name NAME" "$CTL" show name t
expect 0 "" "update pinned PATH" "$CTL" update pinned /sys/fs/bpf/elsewhere/t2 key 3 3 3 3 3 3 3 3 value 5 0 0 0 0 0 0 0
expect 0 "value: 05 00 00 00 00 00 00 00" "lookup id ID sees it" "$CTL" lookup id $t_id key 3 3 3 3 3 3 3 3
expect 0 "" "delete id ID" "$CTL" delete id $t_id key 3 3 3 3 3 3 3 3
expect 1 "key not found in 't2'" "lookup pinned PATH after it" "$CTL" lookup pinned /sys/fs/bpf/elsewhere/t2 key 3 3 3 3 3 3 3 3
check "dump id ID and dump NAME agree" sh -c "[ \"\$('$CTL' dump id $t_id)\" = \"\$('$CTL' dump t)\" ]"
expect 0 "Found 0 elements" "dump pinned PATH" "$CTL" dump pinned /sys/fs/bpf/elsewhere/t2
expect 0 "lookups" "stats id ID (live figures)" "$CTL" stats id $t_id
expect 0 "lookups" "stats pinned PATH" "$CTL" stats pinned /sys/fs/bpf/elsewhere/t2
expect 1 "nothing is pinned at /sys/fs/bpf/elsewhere/nosuch" "show pinned of nothing" "$CTL" show pinned /sys/fs/bpf/elsewhere/nosuch
expect 1 "/sys/fs/bpf/elsewhere is a directory" "show pinned of a directory" "$CTL" show pinned /sys/fs/bpf/elsewhere
expect 2 "'id' takes a table id" "id without a number" "$CTL" show id
expect 2 "table id 'x' is not a number" "id that is not a number" "$CTL" dump id x
expect 2 "table id 0 is out of range" "id 0" "$CTL" show id 0
expect 1 "no table with id 4000000001" "lookup in no table" "$CTL" lookup id 4000000001 key 1 2 3 4 5 6 7 8
check "-j show pinned PATH lists both pins" sh -c "'$CTL' -j show pinned /sys/fs/bpf/elsewhere/t2 | python3 -c 'import json,sys; d=json.load(sys.stdin); assert sorted(d[\"pinned\"]) == [\"/sys/fs/bpf/elsewhere/t2\", \"/sys/fs/bpf/hmap/t\"], d'"
rm -f /sys/fs/bpf/elsewhere/t2 && rmdir /sys/fs/bpf/elsewhere

# ---- JSON -----------------------------------------------------------------------
"$CTL" update t key $K1 value 07 00 00 00 00 00 00 00 >/dev/null
"$CTL" update t key hex 11 22 33 44 55 66 77 88 value 8 0 0 0 0 0 0 0 >/dev/null
check "-j show parses" sh -c "'$CTL' -j show t > $T/show.json && python3 -m json.tool $T/show.json"
check "-p list parses" sh -c "'$CTL' -p list | python3 -m json.tool"
check "-j dump parses" sh -c "'$CTL' -j dump t > $T/dump.json && python3 -m json.tool $T/dump.json"
check "-j lookup parses" sh -c "'$CTL' -j lookup t key $K1 > $T/lookup.json && python3 -m json.tool $T/lookup.json"
entries=$(json_field $T/show.json "j['entries']")
dumped=$(json_field $T/dump.json "len(j)")
counted=$("$CTL" dump t --count)
if [ "$entries" = 2 ] && [ "$dumped" = 2 ] && [ "$counted" = 2 ]; then ok "JSON and text carry the same numbers"
else not_ok "JSON and text carry the same numbers"; echo "# show $entries, dump $dumped, count $counted"; fi
if [ "$(value_u64 $T/lookup.json 0)" = 7 ]; then ok "-j lookup value"; else not_ok "-j lookup value"; fi
check "-j error is JSON too" sh -c "'$CTL' -j show nosuch 2>/dev/null | python3 -c 'import json,sys; assert \"error\" in json.load(sys.stdin)'"
# An error in the middle of a list (no CAP_SYS_ADMIN: no table opens) is an
# element of the list: the output stays one valid JSON document.
setpriv --bounding-set=-sys_admin "$CTL" -j list > $T/list-err.json 2>/dev/null
rc=$?
if [ $rc = 1 ] && json_field $T/list-err.json "[e['error'] for e in j][0]" | grep -q CAP_SYS_ADMIN; then
	ok "-j list with errors is valid JSON, errors as elements"
else
	not_ok "-j list with errors is valid JSON, errors as elements"
	echo "# exit $rc"; sed 's/^/#   /' $T/list-err.json
fi

# Every command's -j output, kept (stdout only) to be checked at the end in
# one python run (python starts slowly under TCG): one valid JSON document
# each, an "error" in it exactly when the exit status is not 0.
jcap() {	# jcap NAME CMD...
	jname=$1
	shift
	"$@" > $T/j-$jname.json 2>/dev/null
	echo $? > $T/j-$jname.rc
}
rm -f $T/j-*
jcap show "$CTL" -j show t
jcap list "$CTL" list -j
jcap dump "$CTL" -j dump t
jcap dump-top "$CTL" -j dump t --top 1
jcap count "$CTL" -j dump t --count
jcap lookup "$CTL" -j lookup t key $K1
jcap update "$CTL" -j update t key $K1 value 7 0 0 0 0 0 0 0
jcap create "$CTL" -j create j1 --key-size 4 --value-size 4 --capacity 4
jcap create-twice "$CTL" -j create j1 --key-size 4 --value-size 4 --capacity 4
jcap rm "$CTL" -j rm j1
jcap rm-nosuch "$CTL" -j rm j1
jcap delete-absent "$CTL" -j delete t key 9 9 9 9 9 9 9 9
jcap usage-no-name "$CTL" -j show
jcap usage-bad-byte "$CTL" -j lookup t key 300 0 0 0 0 0 0 0
jcap unknown-cmd "$CTL" -j bogus
jcap unknown-opt "$CTL" -j --bogus list
jcap version "$CTL" -j --version
jcap prog-missing "$CTL" -j prog load /nonexistent.bpf.o
jcap detach-nothing "$CTL" -j detach xdp lo
jcap unload-outside "$CTL" -j prog unload /sys/fs/bpf

# ---- bash completion (bash-completion's helpers stubbed: only hmapctl's part) ----------
comp() {	# comp WORDS...: what completing the last word offers, sorted, one line
	bash -c '
		_init_completion() {
			cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
			words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
		}
		_filedir() { :; }
		. "$0"
		COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
		_hmapctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
		"$SRC/user/hmapctl/bash-completion/hmapctl" "$@"
}
if command -v bash >/dev/null; then
	[ "$(comp hmapctl sh)" = "show " ] && ok "completion: a command" || { not_ok "completion: a command"; echo "# $(comp hmapctl sh)"; }
	[ "$(comp hmapctl -j s)" = "show stats " ] && ok "completion: after a global option" || not_ok "completion: after a global option"
	[ "$(comp hmapctl rm ti)" = "tiny " ] && ok "completion: table names from the pin root" || { not_ok "completion: table names from the pin root"; echo "# $(comp hmapctl rm ti)"; }
	[ "$(comp hmapctl dump t --c)" = "--consistent --count " ] && ok "completion: a command's options" || not_ok "completion: a command's options"
	[ "$(comp hmapctl prog "")" = "help load unload " ] && ok "completion: subcommands" || not_ok "completion: subcommands"
	[ "$(comp hmapctl update t key 1 2 "")" = "any exist noexist value " ] && ok "completion: keywords" || not_ok "completion: keywords"
else
	for d in "a command" "after a global option" "table names from the pin root" "a command's options" subcommands keywords; do
		skipped "completion: $d" "no bash"
	done
fi

# ---- prog load ----------------------------------------------------------------
expect 1 "needs table 'flows', which does not exist: run 'hmapctl create flows --key-size 40 --value-size 16" \
	"prog load without its table" "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o"
"$CTL" create flows --key-size 8 --value-size 16 --capacity 100 >/dev/null
expect 1 "expects key 40 bytes and value 16, but table 'flows' has key 8 and value 16" \
	"prog load with mismatched sizes" "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o"
"$CTL" rm flows >/dev/null
expect 1 "cannot read /nonexistent.bpf.o" "prog load a missing file" "$CTL" prog load /nonexistent.bpf.o
expect 1 "has no map 'nosuch'" "prog load --table with an unknown map" "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o" --table nosuch=flows
expect 2 "--table takes MAP=NAME" "prog load --table without =" "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o" --table flows
expect 1 "no network device 'nosuchdev'" "attach to an unknown device" "$CTL" attach xdp nosuchdev xdp_flowcount
expect 1 "no loaded program named 'nosuchprog'" "attach an unknown program" "$CTL" attach xdp lo nosuchprog
expect 1 "nothing attached by hmapctl" "detach what is not attached" "$CTL" detach xdp lo
expect 2 "cannot attach to 'bogus'" "attach to an unknown hook" "$CTL" attach bogus lo x
expect 2 "--mode takes native or generic" "attach with a bad mode" "$CTL" attach xdp lo x --mode turbo

# ---- XDP end to end ------------------------------------------------------------
check "veth between two namespaces" veth_up
expect 0 "created table 'flows'" "create flows" "$CTL" create flows --key-size 40 --value-size 16 --capacity 4096
expect 0 "loaded xdp_flowcount" "prog load xdp_flowcount" "$CTL" prog load "$B/bpf/xdp_flowcount.bpf.o"
expect 0 "attached xdp_flowcount" "attach xdp (native) to vb" in_b "$CTL" attach xdp vb xdp_flowcount
expect 1 "already attached to vb" "attach twice" in_b "$CTL" attach xdp vb xdp_flowcount
check "the link pin outlives hmapctl" test -e /sys/fs/bpf/hmap-links/xdp-vb
check "send UDP over IPv4 and IPv6" sh -c "nsenter --net=/run/netns/$NS_A python3 '$SRC/selftests/vm/udp_send.py' $IP_B $IP6_B 50 64 600 1400 > $T/sent.json"
out=$(python3 "$SRC/selftests/vm/flowcheck.py" "$CTL" $T/sent.json 2>&1)
if [ $? = 0 ]; then ok "XDP counters equal what the sender sent"; else not_ok "XDP counters equal what the sender sent"; fi
printf '%s\n' "$out"

# Typed keys from the object's BTF: addresses, ports in host order.
sport=$(json_field $T/sent.json "j[1]['sport']")
expect 0 "packets=50" "lookup with typed fields (--btf)" "$CTL" lookup flows key \
	saddr=$IP_A daddr=$IP_B sport=$sport dport=5002 proto=17 family=4 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 0 "saddr=fd00:99::1" "typed IPv6 fields" "$CTL" lookup flows key saddr=$IP6_A daddr=$IP6_B \
	sport=$(json_field $T/sent.json "j[4]['sport']") dport=5002 proto=17 family=6 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 2 "key has no field 'nosuch'" "typed key with an unknown field" "$CTL" lookup flows key nosuch=1 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 2 "'70000' is not a 2-byte number" "typed key with an out-of-range field" "$CTL" lookup flows key sport=70000 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 2 "is not NAME=VALUE" "typed key without =" "$CTL" lookup flows key 10.99.0.1 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 1 "declares no HMAP_TABLE(flows" "--btf with the wrong object" "$CTL" lookup flows key sport=1 --btf "$B/bpf/tc_budget.bpf.o"
fid=$("$CTL" -j show flows | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
expect 0 "packets=50" "lookup id ID --btf: the types of the name it is pinned under" "$CTL" lookup id $fid key \
	saddr=$IP_A daddr=$IP_B sport=$sport dport=5002 proto=17 family=4 --btf "$B/bpf/xdp_flowcount.bpf.o"
expect 1 "is not pinned under /sys/fs/bpf, so --btf cannot tell" "--btf by id with no pin in the pin root" \
	"$CTL" --pin-root /sys/fs/bpf lookup id $fid key sport=1 --btf "$B/bpf/xdp_flowcount.bpf.o"

# ---- tc end to end: a byte budget drops what exceeds it --------------------------
expect 0 "created table 'budget'" "create budget" "$CTL" create budget --key-size 16 --value-size 24 --capacity 64
expect 0 "loaded tc_budget" "prog load tc_budget" "$CTL" prog load "$B/bpf/tc_budget.bpf.o"
DST="hex 00 00 00 00 00 00 00 00 00 00 ff ff 0a 63 00 02"	# ::ffff:10.99.0.2
LIMIT=20000
expect 0 "" "set a 20000-byte budget for $IP_B" "$CTL" update budget key $DST value hex $(le64 0) $(le64 $LIMIT) $(le64 0)
expect 0 "attached tc_budget" "attach tc egress on va" in_a "$CTL" attach tc va egress tc_budget
# 6.6 on: a tcx link, pinned like XDP's; before: a cls_bpf filter on clsact.
kv=$(uname -r | awk -F. '{ print $1 * 1000 + $2 }')
if [ "$kv" -ge 6006 ]; then
	check "tc attach is a pinned tcx link on $(uname -r)" test -e /sys/fs/bpf/hmap-links/tcx-va-egress
	check "no cls_bpf filter besides it" sh -c "! nsenter --net=/run/netns/$NS_A tc filter show dev va egress | grep -q 'handle 0x484d'"
else
	check "tc attach is a cls_bpf filter on $(uname -r) (no tcx)" sh -c "nsenter --net=/run/netns/$NS_A tc filter show dev va egress | grep -q 'handle 0x484d'"
fi
expect 1 "already on va egress" "attach tc twice" in_a "$CTL" attach tc va egress tc_budget
check "send 100 x 400-byte UDP over IPv4" sh -c "nsenter --net=/run/netns/$NS_A python3 '$SRC/selftests/vm/udp_send.py' $IP_B - 100 400 > $T/sent-tc.json"
"$CTL" -j lookup budget key $DST > $T/budget.json
seen=$(value_u64 $T/budget.json 0) dropped=$(value_u64 $T/budget.json 2)
# Frames are 14+20+8+400 = 442 bytes at tc; one 49-byte warm-up datagram first.
want_pass=$(python3 -c "print(sum(1 for i in range(1, 101) if 49 + 442 * i <= $LIMIT))")
if [ "$seen" = $((49 + 442 * 100)) ] && [ "$dropped" = $((100 - want_pass)) ]; then
	ok "tc_budget counted every byte and dropped past the budget"
else
	not_ok "tc_budget counted every byte and dropped past the budget"
fi
echo "# budget: seen $seen bytes, dropped $dropped packets, expected $((100 - want_pass)) dropped"
python3 -c "
import json, sys
f = json.load(open('$T/sent-tc.json'))[0]
f['packets'] = $want_pass; f['bytes'] = $want_pass * 442
json.dump([f], open('$T/passed-tc.json', 'w'))"
out=$(python3 "$SRC/selftests/vm/flowcheck.py" "$CTL" $T/passed-tc.json 2>&1)
if [ $? = 0 ]; then ok "XDP on the receiver saw exactly the packets tc let through"; else not_ok "XDP on the receiver saw exactly the packets tc let through"; fi
printf '%s\n' "$out"
expect 0 "detached tc va egress" "detach tc" in_a "$CTL" detach tc va egress
expect 1 "no hmapctl tc program on va egress" "detach tc twice" in_a "$CTL" detach tc va egress
check "detach tc leaves no tcx pin" test ! -e /sys/fs/bpf/hmap-links/tcx-va-egress

# ---- fentry end to end ------------------------------------------------------------
expect 0 "created table 'writes'" "create writes" "$CTL" create writes --key-size 4 --value-size 16 --capacity 1024
expect 0 "loaded fentry_writes" "prog load fentry_writes" "$CTL" prog load "$B/bpf/fentry_writes.bpf.o"
expect 0 "attached fentry_writes" "attach fentry" "$CTL" attach fentry fentry_writes
dd if=/dev/zero of=/dev/null bs=1000 count=37 status=none &
pid=$!
wait $pid
"$CTL" -j lookup writes key hex $(le32 $pid) > $T/writes.json 2>&1
if [ "$(value_u64 $T/writes.json 0)" = 37000 ] && [ "$(value_u64 $T/writes.json 1)" = 37 ]; then
	ok "fentry counted dd's 37 writes of 1000 bytes"
else
	not_ok "fentry counted dd's 37 writes of 1000 bytes"
	sed 's/^/#   /' $T/writes.json
fi
expect 0 "calls=37" "lookup --btf prints typed fields" "$CTL" lookup writes key $pid --btf "$B/bpf/fentry_writes.bpf.o"
expect 0 "" "update with typed fields (bare key, struct value)" "$CTL" update writes key 4242 value bytes=10 calls=2 --btf "$B/bpf/fentry_writes.bpf.o"
expect 0 "value: 0a 00 00 00 00 00 00 00 02 00" "the typed update landed (read back in hex)" "$CTL" lookup writes key hex $(le32 4242)
expect 0 "value: {bytes=10 calls=2}" "and typed" "$CTL" lookup writes key 4242 --btf "$B/bpf/fentry_writes.bpf.o"
expect 2 "'x12' is not a 4-byte number" "typed bare key that is not a number" "$CTL" lookup writes key x12 --btf "$B/bpf/fentry_writes.bpf.o"
expect 0 "calls=2" "--btf anywhere after the command" "$CTL" lookup writes --btf "$B/bpf/fentry_writes.bpf.o" key 4242
expect 0 "detached" "detach fentry" "$CTL" detach fentry fentry_writes

# ---- --top: sorted by a defined field ----------------------------------------------
OBJ=$B/bpf/fentry_writes.bpf.o
"$CTL" update writes key 4243 value bytes=1 calls=4000000000 --btf "$OBJ" >/dev/null
expect 0 "{bytes=1 calls=4000000000}" "--top 1 --sort calls (a named field)" "$CTL" dump writes --top 1 --sort calls --btf "$OBJ"
expect 0 "value: 01 00 00 00 00 00 00 00 00 28 6b ee" "--top 1 --sort 8:8 (bytes 8..15 of the value)" "$CTL" dump writes --top 1 --sort 8:8
expect 2 "--sort OFFSET:SIZE" "--top on 16-byte values without --btf or --sort is refused" "$CTL" dump writes --top 1
expect 2 "has no field 'nosuch'" "--sort with an unknown field" "$CTL" dump writes --top 1 --sort nosuch --btf "$OBJ"
expect 0 "created table 'pairs'" "create a table of {u32, u32} values" "$CTL" create pairs --key-size 4 --value-size 8 --capacity 8
# Bytes that read the same in hex and in decimal.
"$CTL" update pairs key 01 00 00 00 value 01 00 00 00 07 00 00 00 >/dev/null
"$CTL" update pairs key 02 00 00 00 value 05 00 00 00 00 00 00 00 >/dev/null
expect 0 "key: 02 00 00 00" "--top 1 --sort 0:4 sorts by the first u32 alone" "$CTL" dump pairs --top 1 --sort 0:4
expect 0 "removed 'pairs'" "rm pairs" "$CTL" rm pairs

# ---- typed data: enums, bitfields, char arrays, nested structs, no length cut -------
TOBJ=$B/bpf/hmapctl_types.bpf.o
expect 0 "created table 'typed'" "create a table of hmapctl_types' types" \
	"$CTL" create typed --key-size 16 --value-size 32 --capacity 8
expect 0 "" "typed update: enum name, bitfields, nested field, string, negative, __be16, address" \
	"$CTL" update typed key id=7 name=abc value color=HC_GREEN small=5 flag=1 big=100000 \
	pair.hi=2 label=hello delta=-3 port=8080 saddr=10.1.2.3 --btf "$TOBJ"
expect 0 'value: {color=HC_GREEN small=5 flag=1 big=100000 pair={lo=0 hi=2} label="hello" delta=-3 port=8080 saddr=10.1.2.3}' \
	"typed lookup prints enum, bitfields, nested struct, string, signed, __be16, address" \
	"$CTL" lookup typed key id=7 name=abc --btf "$TOBJ"
expect 0 'key: {id=7 name="abc"}' "a char array key field prints as a string" \
	"$CTL" lookup typed key id=7 name=abc --btf "$TOBJ"
expect 0 "value: 02 00 00 00 0d 6a 18 00 00 00 02 00 68 65 6c 6c 6f 00 00 00 fd ff ff ff 1f 90 0a 01 02 03 00 00" \
	"the typed update stored what C would" "$CTL" lookup typed key 7 0 0 0 97 98 99 0 0 0 0 0 0 0 0 0
expect 2 "'8' does not fit the 3-bit field 'small'" "a bitfield too small for the value" \
	"$CTL" update typed key id=7 value small=8 --btf "$TOBJ"
expect 2 "'HC_PURPLE' is not a 4-byte number or a name of the enum's values" "an unknown enum name" \
	"$CTL" update typed key id=7 value color=HC_PURPLE --btf "$TOBJ"
expect 2 "is longer than the field's 12 chars" "a string too long for its field" \
	"$CTL" update typed key id=7 name=abcdefghijklm value color=1 --btf "$TOBJ"
jcap typed-lookup "$CTL" -j lookup typed key id=7 name=abc --btf "$TOBJ"
jcap typed-dump "$CTL" -j dump typed --btf "$TOBJ"
expect 0 "created table 'big'" "create a table of 4096-byte values" "$CTL" create big --key-size 4 --value-size 4096 --capacity 2
ffs() { i=0; while [ $i -lt $1 ]; do printf 'ff '; i=$((i + 1)); done; }
expect 0 "" "fill a 4096-byte value" "$CTL" update big key 1 0 0 0 value hex $(ffs 4096)
nwords=$("$CTL" lookup big key 1 --btf "$TOBJ" | grep -o 4294967295 | wc -l)
if [ "$nwords" = 1024 ]; then ok "typed output is not cut: all 1024 words of 11 KiB of text"
else not_ok "typed output is not cut: all 1024 words of 11 KiB of text"; echo "# $nwords words printed"; fi
jcap typed-big "$CTL" -j lookup big key 1 --btf "$TOBJ"
expect 0 "removed 'typed'" "rm typed" "$CTL" rm typed
expect 0 "removed 'big'" "rm big" "$CTL" rm big

# ---- foreign objects under the pin root are never taken for tables ---------------
R=/sys/fs/bpf/hmap
ones() { i=0; while [ $i -lt $1 ]; do printf '1 '; i=$((i + 1)); done; }
bpftool map create $R/x4k type array key 4 value 4096 entries 1 name x4k
bpftool map update pinned $R/x4k key 0 0 0 0 value $(ones 4096)
bpftool map create $R/x64k type array key 4 value 65536 entries 1 name x64k
bpftool map update pinned $R/x64k key 0 0 0 0 value $(ones 65536)
bpftool map create $R/xpcpu type percpu_array key 4 value 4096 entries 1 name xpcpu
bpftool prog pin pinned /sys/fs/bpf/hmap-progs/fentry_writes/fentry_writes $R/xprog
mkdir $R/xdir
for x in x4k x64k xpcpu xprog xdir; do
	check "$x is pinned for the test" test -e $R/$x
	expect 1 "$R/$x is a" "rm $x refuses it" "$CTL" rm $x
	expect 1 "not an hmap table descriptor" "show $x refuses it" "$CTL" show $x
	expect 1 "not an hmap table descriptor" "stats $x refuses it" "$CTL" stats $x
	expect 1 "not an hmap table descriptor" "dump $x refuses it" "$CTL" dump $x
	expect 1 "not an hmap table descriptor" "lookup in $x refuses it" "$CTL" lookup $x key 00 00 00 00
	expect 1 "not an hmap table descriptor" "update of $x refuses it" "$CTL" update $x key 00 00 00 00 value 00 00 00 00
	expect 1 "not an hmap table descriptor" "show pinned $R/$x refuses it" "$CTL" show pinned $R/$x
	expect 1 "not an hmap table descriptor" "dump pinned $R/$x refuses it" "$CTL" dump pinned $R/$x
	check "$x is still pinned" test -e $R/$x
done
jcap foreign-show "$CTL" -j show x4k
jcap foreign-rm "$CTL" -p rm xprog
jcap foreign-dump "$CTL" -j dump xdir
expect 1 "is a BPF array map with 4-byte keys and 4096-byte values" "the message says what is there" "$CTL" show x4k
check "list ignores them (and -j list parses)" sh -c "'$CTL' -j list | python3 -c 'import json,sys; l=json.load(sys.stdin); assert all(e[\"name\"] is None or not e[\"name\"].startswith(\"x\") for e in l), l'"

# ---- prog unload removes only the programs hmapctl pinned --------------------------
bpftool prog pin pinned /sys/fs/bpf/hmap-progs/fentry_writes/fentry_writes /sys/fs/bpf/xother
expect 2 "is not an object name" "prog unload .. is refused" sh -c "cd $R && '$CTL' prog unload .."
check "another tool's pin survives prog unload .." test -e /sys/fs/bpf/xother
expect 1 "not a directory of hmapctl's 'prog load'" "prog unload of the table root is refused" "$CTL" prog unload $R
expect 0 "variant fixed" "the tables survive it" "$CTL" show writes
expect 1 "not a directory of hmapctl's 'prog load'" "prog unload of a directory elsewhere is refused" "$CTL" prog unload /sys/fs/bpf
check "and nothing there is unpinned" test -e /sys/fs/bpf/xother
bpftool map create /sys/fs/bpf/hmap-progs/fentry_writes/xmap type array key 4 value 4 entries 1 name xmap
expect 0 "left /sys/fs/bpf/hmap-progs/fentry_writes/xmap in place: it is a BPF array map" \
	"prog unload leaves what is not a program" "$CTL" prog unload fentry_writes
check "the map stays, the program is gone" sh -c "test -e /sys/fs/bpf/hmap-progs/fentry_writes/xmap && ! test -e /sys/fs/bpf/hmap-progs/fentry_writes/fentry_writes"
rm -rf /sys/fs/bpf/hmap-progs/fentry_writes /sys/fs/bpf/xother
mkdir -p /sys/fs/bpf/xpin
bpftool map create /sys/fs/bpf/xpin/fentry_writes type array key 4 value 4 entries 1 name xm
expect 1 "/sys/fs/bpf/xpin/fentry_writes is a BPF array map with 4-byte keys and 4-byte values, not a program" \
	"prog load never replaces what is not a program" "$CTL" prog load "$B/bpf/fentry_writes.bpf.o" --pin /sys/fs/bpf/xpin
check "the map is still pinned there" sh -c "bpftool map show pinned /sys/fs/bpf/xpin/fentry_writes | grep -q xm"
rm -rf /sys/fs/bpf/xpin
for x in x4k x64k xpcpu xprog xdir; do rm -rf $R/$x; done

# ---- cleanup leaves nothing -------------------------------------------------------
expect 0 "detached" "detach xdp" in_b "$CTL" detach xdp vb
# A table only a program holds has no pin: list and show id still find it.
flows_id=$("$CTL" -j show flows | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
expect 0 "removed 'flows'" "rm flows while xdp_flowcount holds it" "$CTL" rm flows
expect 0 "$flows_id: (not pinned)  variant fixed  key 40B" "list shows it by id, not pinned" "$CTL" list
expect 0 "not pinned: kept alive by a program" "show id shows it" "$CTL" show id $flows_id
check "-j list marks it: name null, no pins" sh -c "'$CTL' -j list | python3 -c 'import json,sys; e=[e for e in json.load(sys.stdin) if e[\"id\"] == $flows_id][0]; assert e[\"name\"] is None and e[\"pinned\"] == [], e'"
expect 1 "no table with id 4000000000" "show id of no table" "$CTL" show id 4000000000
jcap show-id "$CTL" -j show id $flows_id
jcap list-unpinned "$CTL" -j list
for p in xdp_flowcount tc_budget; do
	expect 0 "unpinned" "prog unload $p" "$CTL" prog unload $p
done
for t in t tiny budget writes; do
	expect 0 "removed '$t'" "rm $t" "$CTL" rm $t
done

# The JSON documents kept above, checked in one python run.
out=$(python3 - "$T" <<'PY' 2>&1
import glob, json, os, sys
T = sys.argv[1]
bad = 0

def has_error(d):
    if isinstance(d, dict):
        return "error" in d
    return isinstance(d, list) and any(has_error(e) for e in d)

docs = {}
for f in sorted(glob.glob(T + "/j-*.json")):
    name = os.path.basename(f)[2:-5]
    rc = int(open(f[:-5] + ".rc").read())
    text = open(f).read()
    try:
        docs[name] = d = json.loads(text)
    except ValueError as e:
        print(f"# {name}: not one JSON document ({e}): {text[:300]!r}")
        bad += 1
        continue
    if (rc != 0) != has_error(d):
        print(f"# {name}: exit {rc} but error in JSON is {has_error(d)}: {text[:300]!r}")
        bad += 1

def want(name, cond, what):
    global bad
    try:
        good = cond(docs[name])
    except Exception as e:
        good = False
        what += f" ({e!r})"
    if not good:
        print(f"# {name}: {what}: {json.dumps(docs.get(name))[:300]}")
        bad += 1

table_keys = {"id", "name", "pinned", "variant", "key_size", "value_size", "bytes", "entries",
              "capacity"}
want("show", lambda d: table_keys <= d.keys() and d["name"] == "t" and
     d["pinned"] == ["/sys/fs/bpf/hmap/t"] and "lookups" in d, "the table schema")
want("list", lambda d: all(table_keys <= e.keys() for e in d) and
     any(e["name"] == "t" for e in d), "a list of tables")
want("dump", lambda d: len(d) == 2 and all(set(e) == {"key", "value"} and len(e["key"]) == 8 and
     e["key"][0].startswith("0x") for e in d), "entries of byte strings")
want("dump-top", lambda d: len(d) == 1, "--top 1 is one entry")
want("count", lambda d: d == {"name": "t", "count": 2}, "name and count")
want("lookup", lambda d: d["value"][0] == "0x07", "the value")
want("update", lambda d: d is None, "null, as bpftool")
want("create", lambda d: d["name"] == "j1" and d["pinned"] == ["/sys/fs/bpf/hmap/j1"] and
     d["id"] > 0, "name, id, pinned")
want("rm", lambda d: d["removed"] == "j1", "removed")
want("version", lambda d: set(d) == {"version", "libhmap"}, "versions")
want("foreign-show", lambda d: "not an hmap table descriptor" in d["error"], "the error")
want("show-id", lambda d: d["name"] is None and d["pinned"] == [], "an unpinned table")
want("list-unpinned", lambda d: any(e["name"] is None for e in d), "the unpinned table listed")
typed = {"color": "HC_GREEN", "small": 5, "flag": 1, "big": 100000, "pair": {"lo": 0, "hi": 2},
         "label": "hello", "delta": -3, "port": 8080, "saddr": "10.1.2.3"}
want("typed-lookup", lambda d: d == {"key": {"id": 7, "name": "abc"}, "value": typed},
     "typed data as objects, as bpftool's formatted output")
want("typed-dump", lambda d: [e["value"] for e in d] == [typed], "typed dump entries as objects")
want("typed-big", lambda d: d["value"]["words"] == [4294967295] * 1024, "all 1024 words")
print(f"# {len(docs)} documents checked")
sys.exit(1 if bad else 0)
PY
)
if [ $? = 0 ]; then ok "every -j output is one valid JSON document with the documented fields"
else not_ok "every -j output is one valid JSON document with the documented fields"; fi
printf '%s\n' "$out"
veth_down
expect 0 "no tables" "list is empty" sh -c "i=0; while [ \$i -lt 50 ] && '$CTL' list | grep -q variant; do sleep 0.1; i=\$((i + 1)); done; '$CTL' list"
if [ -z "$(find /sys/fs/bpf/hmap-links /sys/fs/bpf/hmap-progs -mindepth 1 2>/dev/null)" ]; then ok "no link or program pins left"
else not_ok "no link or program pins left"; ls -R /sys/fs/bpf | sed 's/^/#   /'; fi
if bpftool -j link show | python3 -c 'import json,sys; sys.exit(len(json.load(sys.stdin)))'; then ok "no BPF links left"
else not_ok "no BPF links left"; bpftool link show | sed 's/^/#   /'; fi
# Each table holds a reference on hmap.ko (and an incremental one on
# hmap_rehash.ko): the use counts drop to what modules depending on hmap.ko
# account for once every table is freed.
uses() { awk -v m="$1" '$1 == m { print $3 }' /proc/modules; }
want=$(grep -c '^hmap_rehash ' /proc/modules)
i=0
while [ "$(uses hmap)" != "$want" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(uses hmap)" = "$want" ] && [ "$(uses hmap_rehash)" = "" -o "$(uses hmap_rehash)" = 0 ]; then
	ok "every table was freed"
else
	not_ok "every table was freed"
	grep '^hmap' /proc/modules | sed 's/^/#   /'
fi

# ---- reading speed (printed, not asserted) ------------------------------------------
out=$("$B/selftests/bench_dump" 2>&1)
if [ $? = 0 ]; then ok "zero-copy dump vs BPF_MAP_LOOKUP_BATCH on 1M entries"; else not_ok "zero-copy dump vs BPF_MAP_LOOKUP_BATCH on 1M entries"; fi
printf '%s\n' "$out" | sed 's/^/# /'

echo "1..$n"
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail = 0 ]
