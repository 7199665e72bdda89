#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot Debian's kernel in QEMU (TCG) with the host root mounted read-only over
# 9p, run one command inside, and exit with its status.
#
#   vm.sh [--smp N] [--mem SIZE] [--timeout SECONDS] [--interactive] -- CMD...
#   vm.sh --print-cmd -- CMD...   print the script the guest would run; no VM
#
# Exit status: the command's; 124 if the VM timed out; 125 if the guest never
# reported a status (it crashed or panicked); 126 if the kernel logged a
# warning, BUG, oops, lockdep splat or call trace while the command ran (the
# lines are printed).  Set HMAP_VM_LOG to keep the console log there.
# VMLINUZ=path boots another kernel (e.g. a self-built debug kernel with
# virtio and 9p built in; KVER then only names its initramfs).
set -euo pipefail

SRC=${HMAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HMAP_BUILD:-$SRC/build}
KVER=${KVER:-$(ls /boot/vmlinuz-*-amd64 | sed 's|^/boot/vmlinuz-||' | grep -v -- -rt- | sort -V | tail -n1)}
SMP=2
MEM=2G
TIMEOUT=600
INTERACTIVE=0
PRINT_CMD=0

usage() {
	sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

while [ $# -gt 0 ]; do
	case $1 in
	--smp) SMP=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--interactive) INTERACTIVE=1; shift ;;
	--print-cmd) PRINT_CMD=1; shift ;;
	-h|--help) usage 0 ;;
	--) shift; break ;;
	*) echo "vm.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case $SMP in [1-4]) ;; *) echo "vm.sh: --smp takes 1 to 4, not '$SMP'" >&2; exit 2 ;; esac
[ $# -gt 0 ] || [ "$INTERACTIVE" = 1 ] || usage

# The script guest.sh runs with the guest's sh (the host root's /bin/sh,
# dash; busybox sh in the initramfs): POSIX only.  Each word of CMD is
# single-quoted, an embedded ' written as '\'' (no $'...' as printf %q
# would write, which neither parses).
posix_quote() {
	local a
	for a in "$@"; do
		printf "'%s' " "${a//\'/\'\\\'\'}"
	done
}

guest_script() {
	echo "export HMAP_SRC=$(posix_quote "$SRC")HMAP_BUILD=$(posix_quote "$BUILD")KVER=$(posix_quote "$KVER")HMAP_IN_VM=1"
	echo "cd $(posix_quote "$SRC")"
	if [ "$INTERACTIVE" = 1 ]; then
		echo 'echo "hmap VM: host root is read-only, /tmp is tmpfs; exit to power off"'
		echo 'setsid -c /bin/bash -l </dev/ttyS0 >/dev/ttyS0 2>&1'
	else
		posix_quote "$@"
		echo
	fi
}

if [ "$PRINT_CMD" = 1 ]; then
	guest_script "$@"
	exit 0
fi

command -v qemu-system-x86_64 >/dev/null ||
	{ echo "vm.sh: qemu-system-x86_64 missing: run make deps" >&2; exit 2; }
VMLINUZ=${VMLINUZ:-/boot/vmlinuz-$KVER}
[ -f "$VMLINUZ" ] ||
	{ echo "vm.sh: $VMLINUZ missing: run make deps" >&2; exit 2; }

# ---- initramfs: busybox + the modules needed to mount the host root -------
VMDIR=$BUILD/vm
INITRD=$VMDIR/initramfs-$KVER.cpio.gz
mkdir -p "$VMDIR"
if [ ! -s "$INITRD" ] || [ "$INITRD" -ot "$SRC/selftests/vm/vm.sh" ]; then
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root"/{bin,dev,proc,sys,newroot,lib/modules}
	cp /bin/busybox "$root/bin/busybox"
	for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
		 netfs fscache 9pnet 9pnet_virtio 9p overlay; do
		# 6.12's modules are xz-compressed, which busybox insmod cannot read.
		ko=$(find "/lib/modules/$KVER/kernel" -name "$m.ko" -o -name "$m.ko.xz" 2>/dev/null | head -n1 || true)
		case $ko in
		*.xz) xz -dc "$ko" > "$root/lib/modules/$m.ko" ;;
		?*) cp "$ko" "$root/lib/modules/" ;;
		esac
		echo "$m" >> "$root/lib/modules/order"
	done
	cat > "$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /lib/modules/order); do
	[ -f /lib/modules/$m.ko ] && insmod /lib/modules/$m.ko
done
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /newroot; then
	echo "HMAP-VM: cannot mount the host root over 9p"
	echo o > /proc/sysrq-trigger
fi
# /tmp and /run get fresh tmpfs; keep the source and build trees visible
# even when they live there (a CI checkout under /tmp, say).
n=0
for d in $hmapsrc $hmapbuild; do
	case $d in /tmp/*|/run/*)
		n=$((n + 1)); mkdir -p /keep$n
		mount --bind "/newroot$d" /keep$n
		echo "$d" > /keep$n.path ;;
	esac
done
mount -t tmpfs tmpfs /newroot/tmp
mount -t tmpfs tmpfs /newroot/run
for k in /keep1 /keep2; do
	[ -f $k.path ] || continue
	d=$(cat $k.path)
	mkdir -p "/newroot$d"
	mount --move $k "/newroot$d"
done
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
exec switch_root /newroot /bin/sh "$hmapguest"
EOF
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD.tmp"
	mv "$INITRD.tmp" "$INITRD"
	rm -rf "$root"
	trap - EXIT
fi

# ---- the command, run by guest.sh after switch_root ------------------------
CMDFILE=$(mktemp "$VMDIR/cmd.XXXXXX")
LOG=${HMAP_VM_LOG:-$(mktemp "$VMDIR/log.XXXXXX")}
cleanup() { rm -f "$CMDFILE"; [ -n "${HMAP_VM_LOG:-}" ] || rm -f "$LOG"; }
trap cleanup EXIT
guest_script "$@" > "$CMDFILE"

APPEND="console=ttyS0 panic=-1 oops=panic quiet loglevel=3 hmapguest=$SRC/selftests/vm/guest.sh hmapcmd=$CMDFILE hmapsrc=$SRC hmapbuild=$BUILD"
QEMU=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m "$MEM" -smp "$SMP"
      -nographic -no-reboot -nic none -kernel "$VMLINUZ" -initrd "$INITRD"
      -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
      -append "$APPEND")

if [ "$INTERACTIVE" = 1 ]; then
	exec "${QEMU[@]}"
fi

set +e
timeout --foreground -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$LOG" |
	sed -u -e 's/\x1b[[?0-9;]*[a-zA-Z]//g' -e '/^HMAP-VM-EXIT:/d' -e '/^SeaBIOS\|^Booting from ROM\|^c\?$\|^$/d'
qrc=${PIPESTATUS[0]}
set -e

if [ "$qrc" = 124 ]; then
	echo "vm.sh: the VM did not finish within ${TIMEOUT}s" >&2
	exit 124
fi
status=$(sed -n 's/^HMAP-VM-EXIT: \([0-9]*\)$/\1/p' "$LOG" | tail -n1)
if [ -z "$status" ]; then
	echo "vm.sh: the guest reported no exit status (kernel panic or crash?); see the log above" >&2
	exit 125
fi
exit "$status"
