#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# dkms-build.sh KVER [KDIR]: build hmap.ko and hmap_rehash.ko with module
# BTF for kernel KVER (headers at KDIR, default /lib/modules/KVER/build)
# into build/dkms/, from the root of a DKMS source tree (or a checkout).
# dkms.conf runs it; by hand: bash packaging/dkms/dkms-build.sh "$(uname -r)".
#
# Module BTF is split BTF on top of the kernel's own, so it needs:
#   - the kernel's BTF: KDIR/vmlinux where the headers ship one (Debian's
#     6.12 does, and kbuild then adds module BTF itself), else the BTF in
#     /boot/vmlinuz-KVER (extracted), else /sys/kernel/btf/vmlinux if KVER
#     is the running kernel;
#   - resolve_btfids: the one the kernel's kbuild package ships
#     (KDIR/tools/bpf/resolve_btfids), else one built from
#     /usr/src/linux-source-X.Y.tar.xz of the same X.Y (Debian's 6.1 kbuild
#     ships none: apt-get install linux-source-6.1).
# The build itself is the checkout's (make kmod): BTF is added exactly once
# (a second resolve_btfids pass scrambles the kfunc sets' flags), and the
# kfunc flags and IBT seal checks run.  Exits non-zero, saying what to
# install, when any of it is missing or a module has no .BTF section.
set -euo pipefail
die() {
	echo "dkms-build.sh: error: $1" >&2
	shift
	for l in "$@"; do echo "       $l" >&2; done
	exit 1
}
[ $# -ge 1 ] && [ -n "$1" ] || die "usage: dkms-build.sh KVER [KDIR]"
kver=$1
kdir=${2:-/lib/modules/$kver/build}
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build
out=$build/dkms

[ -f "$kdir/Makefile" ] ||
	die "no kernel build tree for $kver at $kdir" "install its headers: apt-get install linux-headers-$kver"
command -v pahole >/dev/null ||
	die "pahole is missing: it generates module BTF" "apt-get install dwarves"

if [ -f "$kdir/vmlinux" ]; then
	btf=$kdir/vmlinux
	why="$kdir/vmlinux"
elif [ -f "/boot/vmlinuz-$kver" ]; then
	btf=$build/vmlinux-$kver		# make extracts it from the image
	why="/boot/vmlinuz-$kver"
elif [ "$kver" = "$(uname -r)" ] && [ -r /sys/kernel/btf/vmlinux ]; then
	btf=/sys/kernel/btf/vmlinux
	why=$btf
else
	die "no BTF for kernel $kver: neither $kdir/vmlinux nor /boot/vmlinuz-$kver exists," \
		"and $kver is not the running kernel (/sys/kernel/btf/vmlinux)." \
		"Install its image (linux-image-$kver), or build on that kernel."
fi

mm=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$kver")
ksrc=$build/linux-source-$mm
tar=""
if [ -x "$kdir/tools/bpf/resolve_btfids/resolve_btfids" ]; then
	rb=$kdir/tools/bpf/resolve_btfids/resolve_btfids
elif [ -f "/usr/src/linux-source-$mm.tar.xz" ]; then
	tar=/usr/src/linux-source-$mm.tar.xz
	rb=$ksrc/tools/bpf/resolve_btfids/resolve_btfids	# make builds it
else
	die "kernel $kver's build tree has no resolve_btfids ($kdir/tools/bpf/resolve_btfids)," \
		"and /usr/src/linux-source-$mm.tar.xz is not there to build one from." \
		"Install it (apt-get install linux-source-$mm), then rebuild: dkms build hmap -k $kver"
fi
echo "dkms-build.sh: $kver: base BTF from $why, resolve_btfids ${tar:+built from $tar}${tar:-$rb}"

rm -rf "$out"
make -C "$src" -j"$(nproc)" BUILD="$build" KVER="$kver" KDIR="$kdir" KMOD_OUT="$out" \
	VMLINUX_BTF="$btf" RESOLVE_BTFIDS="$rb" KSRC="$ksrc" KSRC_TAR="$tar" kmod || {
	rm -rf "$out"	# nothing half-made for dkms to pick up
	die "building the modules with BTF for $kver failed (the lines above say where)." \
		"Module BTF needs pahole (dwarves) >= 1.22, BTF in $why and $rb."
}

for m in hmap hmap_rehash; do
	ko=$out/$m.ko
	[ -f "$ko" ] || die "the build made no $ko (see the output above)"
	readelf -S "$ko" | grep -qE '\] \.BTF( |$)' || { rm -rf "$out"; false; } ||
		die "$ko has no .BTF section: its kfuncs could not be registered, so it is not installed." \
			"Check that pahole (dwarves) >= 1.22 works and that $btf has BTF."
done
echo "dkms-build.sh: $kver: hmap.ko and hmap_rehash.ko built with module BTF in $out"
