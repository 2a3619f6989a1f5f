#!/bin/sh
# mk/deps.sh — makes sure what `make run` and `make check` need is installed.
#
#   mk/deps.sh [all]          check; on Debian/Ubuntu install what is missing
#   mk/deps.sh build          the same for building and `make run` only
#   mk/deps.sh fuzz           building, plus clang and libFuzzer for `make fuzz`
#   mk/deps.sh --check [...]  check only: list what is missing, exit 1 if so
#
# Silent and fast when everything is there. When something is missing it says
# what and why, then installs it with apt-get (through sudo when not root). It
# stops with the exact command to run instead when it cannot install: not a
# Debian-like system, no sudo that works without a terminal prompt, or
# ORBIT_NO_INSTALL=1 in the environment.
set -u

check_only=0
[ "${1:-}" = --check ] && { check_only=1; shift; }
scope=${1:-all}

PKG_CONFIG=${PKG_CONFIG:-pkg-config}
missing=""  # Debian package names
reasons=""  # one line per package: why it is needed

need() {  # need PACKAGE WHY
	case " $missing " in *" $1 "*) return ;; esac
	missing="$missing $1"
	reasons="$reasons
  $1: $2"
}

have_cmd() { command -v "$1" >/dev/null 2>&1; }

# Build: a C compiler and make, pkg-config, and the libraries' -dev packages.
have_cmd cc || need build-essential "the C compiler (cc) and make"
have_cmd "$PKG_CONFIG" || need pkg-config "finds the libraries' compiler flags"
if have_cmd "$PKG_CONFIG"; then
	for pair in libevent:libevent-dev avro-c:libavro-dev jansson:libjansson-dev \
		libmosquitto:libmosquitto-dev openssl:libssl-dev yaml-0.1:libyaml-dev check:check; do
		mod=${pair%%:*}
		"$PKG_CONFIG" --exists "$mod" 2>/dev/null ||
			need "${pair#*:}" "$mod (pkg-config), needed to build$([ "$mod" = check ] && echo ' the tests')"
	done
else
	for p in libevent-dev libavro-dev libjansson-dev libmosquitto-dev libssl-dev libyaml-dev check; do
		need "$p" "a build dependency (pkg-config is missing, so it cannot be checked)"
	done
fi

# Tests: a real broker on a free loopback port, groff for the man-page lint,
# Prometheus (promtool and the server) for the metrics endpoint.
if [ "$scope" = all ]; then
	[ -x /usr/sbin/mosquitto ] || have_cmd mosquitto ||
		need mosquitto "the MQTT broker the integration tests start on loopback"
	have_cmd groff || need groff-base "make check formats the man pages with groff -ww"
	have_cmd openssl || need openssl "test_mqtt_auth makes its CA, broker and client certificates"
	have_cmd mosquitto_passwd || [ -x /usr/bin/mosquitto_passwd ] ||
		need mosquitto "test_mqtt_auth writes the broker's password file (mosquitto_passwd)"
	# Debian's prometheus package ships both promtool and the server.
	{ have_cmd promtool && have_cmd prometheus; } ||
		need prometheus "test_metrics checks orbitd's exposition with promtool and has a real Prometheus server scrape it"
fi

# make fuzz: clang and its libFuzzer runtime, which Debian ships apart
# (libclang-rt-N-dev for clang N; Debian 12's clang is 14). Checked by
# linking a fuzz target, the one thing make fuzz needs from them.
if [ "$scope" = fuzz ]; then
	if ! have_cmd clang; then
		need clang "make fuzz builds the libFuzzer targets with clang"
		need libclang-rt-14-dev "the libFuzzer runtime (-fsanitize=fuzzer) of Debian 12's clang"
	elif ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' |
		clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null; then
		v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
		need "libclang-rt-${v:-14}-dev" "the libFuzzer runtime (-fsanitize=fuzzer) of clang ${v:-14}"
	fi
fi

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
echo "orbitd: missing build or test dependencies:$reasons" >&2

root_or_sudo=$([ "$(id -u)" = 0 ] || echo "sudo ")
if [ $check_only = 1 ] || [ "${ORBIT_NO_INSTALL:-0}" = 1 ]; then
	echo "orbitd: install them with: ${root_or_sudo}apt-get update && ${root_or_sudo}$cmd" >&2
	exit 1
fi
if ! have_cmd apt-get; then
	echo "orbitd: not a Debian-like system (no apt-get); install the equivalents of the packages above" >&2
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	sudo=""
elif have_cmd sudo && { sudo -n true 2>/dev/null || [ -t 0 ]; }; then
	sudo="sudo"
else
	echo "orbitd: cannot install as $(id -un) (no usable sudo); run: sudo apt-get update && sudo $cmd" >&2
	exit 1
fi

echo "orbitd: installing them: ${sudo:+$sudo }$cmd" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2 || { echo "orbitd: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086  # the package list is meant to split
if ! $sudo apt-get install -y -qq -o Dpkg::Use-Pty=0 --no-install-recommends $missing >&2; then
	echo "orbitd: apt-get install failed; run: sudo $cmd" >&2
	exit 1
fi
# Installed packages must now satisfy the check; anything else is a bug here.
exec "$0" --check "$scope"
