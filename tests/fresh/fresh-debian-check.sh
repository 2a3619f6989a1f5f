#!/bin/sh
# tests/fresh/fresh-debian-check.sh — the README's promise, tested: on a bare
# Debian 12 with only make installed, a clean clone runs `make check`, which
# installs every build and test dependency itself (mk/deps.sh) and passes.
#
#   sudo tests/fresh/fresh-debian-check.sh [ROOT]
#
# Builds a minimal Debian 12 with debootstrap in ROOT (default: a temporary
# directory), clones HEAD of this repository into it (committed work only, and
# no design folder beside it), installs make, runs `make check -j2` inside with
# chroot, then unmounts and removes ROOT. Needs root, debootstrap and a
# reachable Debian mirror (the host's, else deb.debian.org); it installs
# debootstrap when missing. Exit status: that of `make check`, 2 on set-up
# failure.
set -eu

[ "$(id -u)" = 0 ] || { echo "fresh-debian-check: needs root (debootstrap, chroot)" >&2; exit 2; }
src=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
root=${1:-$(mktemp -d /var/tmp/orbitd-fresh.XXXXXX)}
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
mirror=${mirror:-http://deb.debian.org/debian}

mounted=""
cleanup() {
	for m in $mounted; do umount -l "$root/$m" 2>/dev/null || true; done
	rm -rf --one-file-system "$root"
}
trap cleanup EXIT INT TERM
# mktemp made it 0700; it becomes the chroot's / and tests run programs as
# other users (nobody) that must reach the libraries.
chmod 0755 "$root"

if ! command -v debootstrap >/dev/null 2>&1; then
	echo "fresh-debian-check: installing debootstrap (builds the bare system)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2 || exit 2
fi

t0=$(date +%s)
echo "fresh-debian-check: debootstrap bookworm (minbase) from $mirror into $root" >&2
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.debootstrap.log" 2>&1 || {
	tail -n 20 "$root.debootstrap.log" >&2; rm -f "$root.debootstrap.log"; exit 2; }
rm -f "$root.debootstrap.log"

# What the tests use of the host: processes, devices, shared memory, a tmpfs.
for m in proc dev dev/pts dev/shm tmp; do
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	dev) mount --bind /dev "$root/dev" ;;
	dev/pts) mount -t devpts devpts "$root/dev/pts" ;;
	dev/shm | tmp) mount -t tmpfs tmpfs "$root/$m" ;;
	esac
	mounted="$m $mounted"
done
cp /etc/resolv.conf "$root/etc/resolv.conf"

git clone -q --no-hardlinks "$src" "$root/src/orbitd"
[ ! -e "$root/src/shared" ] || { echo "fresh-debian-check: a shared folder sits beside the clone" >&2; exit 2; }

echo "fresh-debian-check: bare system ready after $(( $(date +%s) - t0 )) s; installing make only" >&2
chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/dev/null' || exit 2

# Nothing but make is there: `make check` must install the rest itself.
if chroot "$root" sh -c 'cd /src/orbitd && make check -j2'; then rc=0; else rc=$?; fi
echo "fresh-debian-check: make check exited $rc after $(( $(date +%s) - t0 )) s in all" >&2
exit $rc
