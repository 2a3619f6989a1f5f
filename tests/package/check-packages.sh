#!/bin/sh
# tests/package/check-packages.sh DEBDIR — `make package-check`: the packages
# `make deb` put in DEBDIR, checked the way an administrator and a developer
# meet them:
#
#   1. lintian on the .changes: any E: line fails (W: and I: are printed);
#   2. apt-get install of orbitd, liborbit0 and liborbit-dev on this machine;
#   3. the installed /usr/sbin/orbitd -t accepts the installed orbitd.yaml, a
#      clean host and core; the conffiles are registered; the orbitd user and
#      the empty plugin directory exist;
#   4. the demo drop-in turns the demo on: the installed orbitd, run as the
#      orbitd user, loads the example plugins and becomes compliant;
#   5. an edit of /etc/orbitd/orbitd.yaml survives a reinstall and an upgrade
#      to a package whose orbitd.yaml changed too (the admin's copy stays, the
#      package's lands as orbitd.yaml.dpkg-dist);
#   6. examples/third_party/hello.c, copied out of the tree, builds with
#      pkg-config orbit-plugin alone and the installed orbitd runs it;
#      examples/local_demo.c builds with pkg-config liborbit alone and runs
#      against the installed liborbit.so.0;
#   7. purge: the packages and their files are gone (what apt-get pulled in
#      as dependencies stays, and so does the orbitd system user, as Debian
#      leaves the users of purged packages).
#
# It installs into this machine, not into a `dpkg --root` tree: the
# maintainer scripts run systemd-sysusers and deb-systemd-helper, and apt
# must resolve the libraries the packages depend on, which a bare --root tree
# has neither of. So it needs root and a machine nothing else depends on (CI
# machines are thrown away); it refuses to run where orbitd is installed
# already or /etc/orbitd exists, and puts things back on any exit. What it
# needs (lintian; build-essential and pkg-config for the out-of-tree builds)
# it installs with apt-get when missing, saying so.
set -eu

deb_dir=${1:?usage: check-packages.sh DEBDIR}
src_top=$(pwd)
export DEBIAN_FRONTEND=noninteractive
# The builds below must find the installed .pc files and nothing else.
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

say() { echo "package-check: $*"; }
fail() { echo "package-check: FAIL: $*" >&2; exit 1; }
# present PACKAGE: dpkg knows it in any state but not-installed (also
# half-installed or config-files, which a purge must still remove).
present() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -qv ' not-installed$'; }

[ "$(id -u)" = 0 ] ||
	fail "needs root: it installs, upgrades and purges the packages on this machine"
for p in orbitd liborbit0 liborbit-dev; do
	! present "$p" || fail "$p is installed already; this check would purge it (run it on a throwaway machine)"
done
[ ! -e /etc/orbitd ] || fail "/etc/orbitd exists (an earlier make install?); this check needs it absent"

set -- "$deb_dir"/orbitd_*.deb "$deb_dir"/liborbit0_*.deb "$deb_dir"/liborbit-dev_*.deb
for f; do [ -f "$f" ] || fail "no $f: run make deb first"; done
orbitd_deb=$1
changes=$(ls "$deb_dir"/orbitd_*.changes)

tmp=$(mktemp -d /tmp/orbitd-package-check.XXXXXX)
chmod 0755 "$tmp"
pids=""
cleanup() {
	rc=$?
	for pid in $pids; do kill "$pid" 2>/dev/null && wait "$pid" || true; done
	rm -f /etc/orbitd/conf.d/50-demo.yaml
	if present orbitd || present liborbit0 || present liborbit-dev; then
		say "purging orbitd liborbit0 liborbit-dev"
		apt-get purge -y -qq orbitd liborbit0 liborbit-dev >"$tmp/purge.log" 2>&1 ||
			{ cat "$tmp/purge.log" >&2; rc=1; }
	fi
	rm -rf "$tmp"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

need_pkgs() {  # need_pkgs WHY PACKAGE... — install the packages that are missing
	why=$1; shift
	missing=""
	for p; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' installed$' || missing="$missing $p"
	done
	[ -n "$missing" ] || return 0
	say "installing$missing ($why)"
	apt-get install -y -qq --no-install-recommends $missing >"$tmp/apt.log" 2>&1 || {
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
	} >>"$tmp/apt.log" 2>&1 || { cat "$tmp/apt.log" >&2; fail "cannot install$missing"; }
}

# wait_for LOG PATTERN PID SECONDS: until LOG has a line matching PATTERN,
# failing when PID exits first or SECONDS pass.
wait_for() {
	n=$(($4 * 10))
	until grep -q -- "$2" "$1"; do
		kill -0 "$3" 2>/dev/null || { cat "$1" >&2; fail "pid $3 exited before logging '$2'"; }
		n=$((n - 1))
		[ $n -gt 0 ] || { cat "$1" >&2; fail "no '$2' within $4 s"; }
		sleep 0.1
	done
}

# stop PID LOG: SIGTERM, then its exit status must be 0 (a clean shutdown).
stop() {
	kill -TERM "$1"
	st=0
	wait "$1" || st=$?
	pids=$(echo "$pids" | sed "s/\<$1\>//")
	[ $st = 0 ] || { cat "$2" >&2; fail "pid $1 exited with $st after SIGTERM"; }
}

# A command prefix, not a function: `f &` would fork a shell that waits for
# orbitd, and $! (what stop signals) would be that shell's PID.
as_orbitd="setpriv --reuid=orbitd --regid=orbitd --clear-groups --"

# 1. lintian.
need_pkgs "lints the packages" lintian
say "lintian $changes"
lintian --display-info --pedantic "$changes" >"$tmp/lintian.log" 2>&1 || true
grep -v '^running with root privileges' "$tmp/lintian.log" | sed 's/^/  /'
if grep -q '^E:' "$tmp/lintian.log"; then
	fail "lintian reports errors"
fi

# 2. Install, resolving the dependencies from the archive.
say "apt-get install $*"
( cd "$(dirname "$1")" && apt-get install -y -qq --no-install-recommends \
	./"$(basename "$1")" ./"$(basename "$2")" ./"$(basename "$3")" ) >"$tmp/install.log" 2>&1 || {
	apt-get update -qq >>"$tmp/install.log" 2>&1
	( cd "$(dirname "$1")" && apt-get install -y -qq --no-install-recommends \
		./"$(basename "$1")" ./"$(basename "$2")" ./"$(basename "$3")" ) >>"$tmp/install.log" 2>&1
} || { cat "$tmp/install.log" >&2; fail "apt-get install"; }

# 3. The installed service's configuration, conffiles, user and directories.
out=$(/usr/sbin/orbitd -t) || fail "orbitd -t rejects the installed configuration"
say "$out"
case $out in
*"/etc/orbitd/orbitd.yaml (1 file, 0 requirements, 0 plugin sections)"*) ;;
*) fail "the installed configuration is not a clean host and core" ;;
esac
conffiles=$(dpkg-query -W -f='${Conffiles}\n' orbitd)
for f in /etc/orbitd/orbitd.yaml /etc/orbitd/conf.d/README /etc/orbitd/conf.d/demo.yaml.example; do
	echo "$conffiles" | grep -q "^ $f " || fail "$f is not a registered conffile"
done
say "conffiles registered: $(echo "$conffiles" | awk 'NF { printf "%s ", $1 }')"
getent passwd orbitd >/dev/null || fail "no orbitd user (systemd-sysusers in postinst)"
[ -d /usr/lib/orbitd/plugins ] && [ -z "$(ls -A /usr/lib/orbitd/plugins)" ] ||
	fail "/usr/lib/orbitd/plugins is not an empty directory"
[ -e /lib/systemd/system/orbitd.service ] || fail "no orbitd.service"

# 4. One cp turns the demo on; the installed daemon runs it as the service
#    would (the orbitd user), with its control socket in a scratch directory.
cp /etc/orbitd/conf.d/demo.yaml.example /etc/orbitd/conf.d/50-demo.yaml
out=$(/usr/sbin/orbitd -t) || fail "orbitd -t rejects the demo drop-in"
say "demo enabled: $out"
install -d -o orbitd -g orbitd -m 0750 "$tmp/run"
: >"$tmp/demo.log"
$as_orbitd /usr/sbin/orbitd -s "$tmp/run/orbitd.sock" >"$tmp/demo.log" 2>&1 &
pid=$!
pids="$pids $pid"
wait_for "$tmp/demo.log" "core compliant: 6/6 requirements satisfied" "$pid" 30
wait_for "$tmp/demo.log" "output lowercase from lowercase:" "$pid" 30
/usr/bin/orbitctl -s "$tmp/run/orbitd.sock" status | grep -q '^compliant *yes' ||
	fail "orbitctl status does not say compliant"
stop "$pid" "$tmp/demo.log"
rm /etc/orbitd/conf.d/50-demo.yaml
say "demo: the example plugins loaded, compliant, orbitctl status agrees, clean stop"

# 5. The administrator's edit survives a reinstall (same package) and an
#    upgrade to a package whose orbitd.yaml changed as well. The upgrade is
#    this orbitd .deb repacked with a higher version and one more comment line
#    in its orbitd.yaml: dpkg then sees both sides changed, the case that
#    asks the administrator; --force-confold is the noninteractive answer.
sed -i 's/^  level: info$/  level: notice/' /etc/orbitd/orbitd.yaml
echo "# edited by package-check" >>/etc/orbitd/orbitd.yaml
dpkg --force-confdef --force-confold -i "$orbitd_deb" </dev/null >"$tmp/dpkg.log" 2>&1 ||
	{ cat "$tmp/dpkg.log" >&2; fail "reinstalling $orbitd_deb"; }
grep -q '^# edited by package-check$' /etc/orbitd/orbitd.yaml || fail "a reinstall lost the edit"
dpkg-deb -R "$orbitd_deb" "$tmp/up"
version=$(dpkg-query -W -f='${Version}' orbitd)
sed -i "s/^Version: .*/Version: $version+pkgcheck1/" "$tmp/up/DEBIAN/control"
echo "# a later package's comment" >>"$tmp/up/etc/orbitd/orbitd.yaml"
(cd "$tmp/up" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' |
	xargs -0 md5sum >DEBIAN/md5sums)
dpkg-deb --root-owner-group -b "$tmp/up" "$tmp/orbitd-up.deb" >/dev/null
dpkg --force-confdef --force-confold -i "$tmp/orbitd-up.deb" </dev/null >"$tmp/dpkg.log" 2>&1 ||
	{ cat "$tmp/dpkg.log" >&2; fail "upgrading to $version+pkgcheck1"; }
[ "$(dpkg-query -W -f='${Version}' orbitd)" = "$version+pkgcheck1" ] || fail "the upgrade did not happen"
grep -q '^# edited by package-check$' /etc/orbitd/orbitd.yaml || fail "the upgrade lost the edit"
grep -q "^# a later package's comment$" /etc/orbitd/orbitd.yaml.dpkg-dist ||
	fail "the upgrade did not leave the package's version as orbitd.yaml.dpkg-dist"
/usr/sbin/orbitd -t >/dev/null || fail "orbitd -t rejects the edited configuration after the upgrade"
say "conffile: the edit survived a reinstall and an upgrade to $version+pkgcheck1 (new one in orbitd.yaml.dpkg-dist)"

# 6. Out-of-tree builds against liborbit-dev, with pkg-config alone.
need_pkgs "out-of-tree builds against liborbit-dev" build-essential pkg-config
plugindir=$(pkg-config --variable=plugindir orbit-plugin)
[ "$plugindir" = /usr/lib/orbitd/plugins ] ||
	fail "orbit-plugin.pc names $plugindir as the plugin directory, not /usr/lib/orbitd/plugins"
mkdir -p "$tmp/third_party/plugins"
cp "$src_top"/examples/third_party/hello.c "$tmp/third_party/"
(cd "$tmp/third_party" &&
	cc -O2 -g -Wall -Wextra -Werror -o plugins/hello.so hello.c $(pkg-config --cflags --libs orbit-plugin)) ||
	fail "hello.c does not build with pkg-config orbit-plugin"
cat >"$tmp/third_party/orbitd.yaml" <<'EOF'
identifier: package-check
plugins:
  dir: plugins
  hello:
    required: true
requirements:
  hello:
    minimum: 1
    inputs: string
    outputs: string
    schedule: {every: 1s, data: "world"}
EOF
: >"$tmp/hello.log"
$as_orbitd /usr/sbin/orbitd -c "$tmp/third_party/orbitd.yaml" -s "$tmp/run/orbitd.sock" \
	>"$tmp/hello.log" 2>&1 &
pid=$!
pids="$pids $pid"
wait_for "$tmp/hello.log" 'output hello from hello: "hello, world"' "$pid" 30
stop "$pid" "$tmp/hello.log"
say "third_party/hello.c: built with pkg-config orbit-plugin, loaded and answering in the installed orbitd"

mkdir -p "$tmp/local_demo"
cp "$src_top"/examples/local_demo.c "$tmp/local_demo/"
(cd "$tmp/local_demo" &&
	cc -O2 -g -Wall -Wextra -Werror -o local_demo local_demo.c $(pkg-config --cflags --libs liborbit)) ||
	fail "local_demo.c does not build with pkg-config liborbit"
linked=$(ldd "$tmp/local_demo/local_demo" | awk '$1 == "liborbit.so.0" { print $3 }')
installed=$(dpkg -L liborbit0 | grep '/liborbit\.so\.0$')
[ -n "$linked" ] && [ "$(readlink -f "$linked")" = "$(readlink -f "$installed")" ] ||
	fail "local_demo is not linked to the installed $installed (ldd: ${linked:-none})"
# It runs until SIGINT or SIGTERM: wait for its core's compliance and outputs.
: >"$tmp/local_demo.log"
"$tmp/local_demo/local_demo" >"$tmp/local_demo.log" 2>&1 &
pid=$!
pids="$pids $pid"
wait_for "$tmp/local_demo.log" "core1: compliant" "$pid" 30
wait_for "$tmp/local_demo.log" 'output from plugin2/lowercase: "hello orbit"' "$pid" 30
stop "$pid" "$tmp/local_demo.log"
say "local_demo.c: built with pkg-config liborbit, ran on the installed liborbit.so.0"

# 7. Purge, then nothing of the packages is left.
trap - EXIT
apt-get purge -y -qq orbitd liborbit0 liborbit-dev >"$tmp/purge.log" 2>&1 ||
	{ cat "$tmp/purge.log" >&2; fail "apt-get purge"; }
for p in orbitd liborbit0 liborbit-dev; do
	! present "$p" || fail "$p is still known to dpkg after the purge"
done
for f in /etc/orbitd /usr/lib/orbitd /usr/sbin/orbitd /usr/include/orbit /lib/systemd/system/orbitd.service; do
	[ ! -e "$f" ] || fail "$f is left after the purge"
done
rm -rf "$tmp"
say "purged; all checks passed"
