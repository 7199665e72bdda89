#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, once per machine, the debug kernel that make check boots a second
# time (KASAN, lockdep, PROVE_RCU, atomic-sleep, preempt and list debugging,
# kmemleak), and print its tree's path on stdout.  Build output goes to stderr.
#
#   debug-kernel.sh            build if needed, print the tree
#   debug-kernel.sh --cached   print the tree only if it is already built
#
# Source: Debian 12's own kernel source, linux-source-6.1 (KSRC_TAR=... picks
# another; one debug kernel fits CI's time, and 6.12 is covered by Debian's
# 6.12 and 6.12-rt images).  Config: defconfig + kvm_guest.config + debug.config (next to this
# script).  The tree is cached outside the checkout, in $HMAP_CACHE
# (default /var/cache/hmap, or ~/.cache/hmap when that is not writable),
# keyed by the source package's version and a hash of debug.config and the
# build recipe: every clone on the machine shares it, and a changed config gets a
# new tree.  An interrupted build resumes where it stopped.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
FRAG=$HERE/debug.config
cached_only=0
case ${1:-} in
--cached) cached_only=1 ;;
"") ;;
-h|--help) sed -n '4,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
*) echo "debug-kernel.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

TAR=${KSRC_TAR:-$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null ||
	ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | head -n1)}
[ -f "$TAR" ] || {
	echo "debug-kernel.sh: no /usr/src/linux-source-*.tar.xz: run make deps" >&2
	exit 1
}
pkg=$(basename "$TAR" .tar.xz)
ver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null || stat -c %Y "$TAR")
# Bump RECIPE when the steps below change what gets built.
RECIPE="1: defconfig kvm_guest.config debug.config olddefconfig; bzImage modules_prepare"
key=$( { cat "$FRAG"; echo "$RECIPE"; } | sha256sum | cut -c1-12)

CACHE=${HMAP_CACHE:-/var/cache/hmap}
if ! { mkdir -p "$CACHE" 2>/dev/null && [ -w "$CACHE" ]; }; then
	CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/hmap
	mkdir -p "$CACHE"
fi
DIR=$CACHE/$pkg-$ver-$key
TREE=$DIR/linux

if [ -f "$DIR/.complete" ]; then
	echo "$TREE"
	exit 0
fi
[ "$cached_only" = 1 ] && exit 1

# One build at a time per key; a second caller waits, then finds it built.
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
if [ -f "$DIR/.complete" ]; then
	echo "$TREE"
	exit 0
fi

log() { printf '  %-8s %s\n' "$1" "$2" >&2; }
start=$(date +%s)

if [ ! -f "$TREE/.extracted" ]; then
	log EXTRACT "$TAR -> $TREE"
	rm -rf "$TREE" "$DIR/$pkg"
	tar -xJf "$TAR" -C "$DIR"
	mv "$DIR/$pkg" "$TREE"
	touch "$TREE/.extracted"
fi

if [ ! -f "$TREE/.configured" ]; then
	log CONFIG "defconfig + kvm_guest.config + $(basename "$FRAG")"
	make -s -C "$TREE" defconfig kvm_guest.config >&2
	"$TREE/scripts/kconfig/merge_config.sh" -m -O "$TREE" "$TREE/.config" "$FRAG" >/dev/null
	make -s -C "$TREE" olddefconfig >&2
	# Every line of the fragment must have survived: a dependency that
	# olddefconfig silently dropped would mean a kernel without a check.
	bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF "$line" "$TREE/.config" ||
				{ echo "debug-kernel.sh: $line did not survive olddefconfig" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			! grep -qE "^$sym=[ym]" "$TREE/.config" ||
				{ echo "debug-kernel.sh: $sym is still on after olddefconfig" >&2; bad=1; } ;;
		esac
	done < <(grep -E '^(CONFIG_|# CONFIG_.* is not set)' "$FRAG")
	[ "$bad" = 0 ] || { echo "debug-kernel.sh: fix $FRAG" >&2; exit 1; }
	touch "$TREE/.configured"
fi

log BUILD "bzImage in $TREE (make -j$(nproc); about 20-30 minutes on 2 cores)"
make -s -C "$TREE" -j"$(nproc)" bzImage modules_prepare >&2
# External modules check their imports against Module.symvers; with no
# loadable module of its own the tree has only vmlinux's.
[ -f "$TREE/Module.symvers" ] || cp "$TREE/vmlinux.symvers" "$TREE/Module.symvers"

secs=$(( $(date +%s) - start ))
echo "$secs" > "$DIR/build-seconds"
log BUILT "debug kernel in $((secs / 60))m$((secs % 60))s"
touch "$DIR/.complete"
echo "$TREE"
