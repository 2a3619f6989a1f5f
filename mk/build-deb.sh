#!/bin/sh
# mk/build-deb.sh OUTDIR VERSION — `make deb`: the Debian packages of this tree
# in OUTDIR (*.deb, *.changes, *.buildinfo, build.log), nothing written next to
# the tree and nothing left in it.
#
# dpkg-buildpackage builds in the source directory and writes its results to
# the parent one, so it runs on a copy in OUTDIR/src: the files git would
# commit (tracked and untracked ones that .gitignore does not exclude, as they
# are in the working tree), or without git everything but the build outputs.
# Missing build dependencies (debian/control) are named and installed with
# apt-get build-dep, as root or through sudo; ORBIT_NO_INSTALL=1 only names
# them.
set -eu

out=${1:?usage: build-deb.sh OUTDIR VERSION}
version=${2:?usage: build-deb.sh OUTDIR VERSION}
top=$(pwd)

deb_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' debian/changelog)
if [ "$deb_version" != "$version" ]; then
	echo "make deb: debian/changelog is at $deb_version, config.mk at $version: add a changelog entry (dch -v $version)" >&2
	exit 1
fi

rm -rf "$out"
src=$out/src/orbitd-$version
mkdir -p "$src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# A tracked file deleted in the working tree is still listed: skip it.
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build --exclude=./build-san -cf - . | tar -xf - -C "$src"
fi

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
	else echo "make deb: cannot install as $(id -un); run: sudo $*" >&2; return 1
	fi
}

if ! command -v dpkg-checkbuilddeps >/dev/null 2>&1; then
	echo "make deb: dpkg-dev is missing (dpkg-buildpackage, dpkg-checkbuilddeps)" >&2
	[ "${ORBIT_NO_INSTALL:-0}" != 1 ] || exit 1
	DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends dpkg-dev
fi
if ! missing=$(cd "$src" && dpkg-checkbuilddeps 2>&1); then
	echo "make deb: $missing" >&2
	[ "${ORBIT_NO_INSTALL:-0}" != 1 ] || exit 1
	echo "make deb: installing them: apt-get build-dep -y --no-install-recommends $src" >&2
	DEBIAN_FRONTEND=noninteractive as_root apt-get build-dep -y --no-install-recommends "$top/$src" >&2
fi

# -b: binary packages only (a native source package is the git tree itself).
# Jobs: DEB_BUILD_OPTIONS=parallel=N when given, else dpkg-buildpackage's
# default, one per CPU.
# A clean environment, as a Debian build daemon gives: the calling make
# exports its flags and command-line variables (`make deb SANITIZE=1` would
# otherwise build the packages with ASan), and a CFLAGS or PREFIX in the shell
# must not change them either. Only DEB_BUILD_OPTIONS and DEB_BUILD_PROFILES
# are the caller's to give.
echo "make deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
if ! (cd "$src" && env -i PATH="$PATH" HOME="${HOME:-/}" \
	${DEB_BUILD_OPTIONS+"DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS"} \
	${DEB_BUILD_PROFILES+"DEB_BUILD_PROFILES=$DEB_BUILD_PROFILES"} \
	dpkg-buildpackage -us -uc -b) > "$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "make deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
fi
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out"/
rm -rf "$out/src"
ls -l "$out"
