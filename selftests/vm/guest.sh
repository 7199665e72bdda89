#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 in the VM after switch_root (the host root, read-only).  Runs the
# command vm.sh wrote, then fails the run if the kernel logged a problem while
# it ran, then powers off.  The last console line is "HMAP-VM-EXIT: <status>".
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp

mount -t bpf bpf /sys/fs/bpf
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
echo 1 > /proc/sys/kernel/sysrq
ip link set lo up

# Only what the kernel says from here on counts against the command.
boot_lines=$(dmesg | wc -l)

sh "$hmapcmd"
rc=$?

problems=$(dmesg | tail -n +"$((boot_lines + 1))" |
	grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|lockdep|possible recursive locking|circular locking|UBSAN|KASAN|refcount_t:|RCU stall|rcu_sched detected|hung_task|Kernel panic|unreferenced object' || true)
if [ -n "$problems" ]; then
	echo "HMAP-VM: the kernel reported a problem during the run:"
	dmesg | tail -n +"$((boot_lines + 1))"
	[ "$rc" = 0 ] && rc=126
fi

echo "HMAP-VM-EXIT: $rc"
sync
busybox poweroff -f
echo o > /proc/sysrq-trigger
