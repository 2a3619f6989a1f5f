#!/bin/sh
# tests/install/check-install-tree.sh — what a third party builds against
# `make install DESTDIR=...`, with pkg-config alone and no access to this
# source tree: the example plugin (orbit-plugin.pc), loaded and answering in
# this build's orbitd, and the embedding example (liborbit.pc), linked to the
# staged liborbit.so.0 and reaching compliance.
#
#   tests/install/check-install-tree.sh BUILD SANITIZE [EXTRA_CFLAGS]
#
# Run by `make check` (install-check in mk/check.mk). It installs with the
# build's own settings (default PREFIX, so nothing is rebuilt while suites run
# beside it). EXTRA_CFLAGS carries the sanitizer flags of a SANITIZE=1 build:
# the staged library is instrumented then, so local_demo, which links to it,
# must be too.
# Exit 0 when all holds.
set -eu

build=$(cd "$1" && pwd)
sanitize=${2:-}
extra=${3:-}
prefix=usr/local
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/orbitd-install-check.XXXXXX")
pid=""
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() { echo "install-check: $*" >&2; exit 1; }

# wait_for FILE TEXT SECONDS: until FILE has a line containing TEXT (tail -F
# wakes on each write), or fail with the file shown.
wait_for() {
	if ! timeout "$3" sh -c 'tail -n +1 -F "$1" 2>/dev/null | grep -q -F -- "$2"' sh "$1" "$2"; then
		sed 's/^/  | /' "$1" >&2
		fail "no line containing '$2' in $1 within $3 s"
	fi
}

stage=$tmp/stage
make -s -C "$src" install BUILD="$1" SANITIZE="$sanitize" DESTDIR="$stage" \
	>"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "make install DESTDIR failed"; }
for f in $prefix/include/orbit/plugin.h $prefix/lib/liborbit.so.0 \
	$prefix/lib/pkgconfig/liborbit.pc $prefix/lib/pkgconfig/orbit-plugin.pc; do
	[ -e "$stage/$f" ] || fail "$f is not installed"
done
[ "$(readlink "$stage/$prefix/lib/liborbit.so")" = liborbit.so.0 ] || fail "no liborbit.so -> liborbit.so.0 link"
for f in wire.h envelope.h; do
	[ ! -e "$stage/$prefix/include/orbit/$f" ] || fail "private header $f is installed"
done

# pkg-config sees only the staging tree (and the system's own .pc files,
# for libevent); the sysroot prefixes every path it prints.
export PKG_CONFIG_SYSROOT_DIR="$stage"
export PKG_CONFIG_PATH="$stage/$prefix/lib/pkgconfig"

mkdir "$tmp/hello" "$tmp/hello/plugins"
cp "$src/examples/third_party/hello.c" "$tmp/hello/"
# shellcheck disable=SC2046,SC2086  # pkg-config output and flags split on purpose
# Plugins link nothing of liborbit: built plain even for a sanitized orbitd.
(cd "$tmp/hello" && cc -O2 -Wall -Wextra -Werror -o plugins/hello.so hello.c \
	$(pkg-config --cflags --libs orbit-plugin)) || fail "hello.c does not build with pkg-config orbit-plugin"
exported=$(nm -D --defined-only "$tmp/hello/plugins/hello.so" | awk '{print $3}')
[ "$exported" = orbit_plugin_descriptor ] || fail "hello.so exports more than its descriptor: $exported"

cat >"$tmp/hello/orbitd.yaml" <<'YAML'
identifier: install-check
plugins:
  dir: plugins
  hello: {required: true}
requirements:
  hello:
    minimum: 1
    schedule: {every: 0.2s, data: "world"}
YAML
"$build/bin/orbitd" -c "$tmp/hello/orbitd.yaml" -s "$tmp/orbitd.sock" >"$tmp/hello.log" 2>&1 &
pid=$!
wait_for "$tmp/hello.log" 'output hello from hello: "hello, world"' 30
kill -TERM "$pid"
wait "$pid" || fail "orbitd with hello.so did not stop cleanly (exit $?)"
pid=""

mkdir "$tmp/demo"
cp "$src/examples/local_demo.c" "$tmp/demo/"
# shellcheck disable=SC2046,SC2086
(cd "$tmp/demo" && cc -O2 -Wall -Wextra -Werror $extra -o local_demo local_demo.c \
	$(pkg-config --cflags --libs liborbit)) || fail "local_demo.c does not build with pkg-config liborbit"
LD_LIBRARY_PATH="$stage/$prefix/lib" ldd "$tmp/demo/local_demo" | grep -q "liborbit.so.0 => $stage/$prefix/lib/" ||
	fail "local_demo is not linked to the staged liborbit.so.0"
LD_LIBRARY_PATH="$stage/$prefix/lib" "$tmp/demo/local_demo" >"$tmp/demo.log" 2>&1 &
pid=$!
wait_for "$tmp/demo.log" 'core1: compliant' 30
wait_for "$tmp/demo.log" 'output from plugin2/lowercase: "hello orbit"' 30
kill -TERM "$pid"
wait "$pid" || fail "local_demo did not stop cleanly (exit $?)"
pid=""
echo "install-check: hello.so and local_demo built with pkg-config alone from make install DESTDIR; both ran"
