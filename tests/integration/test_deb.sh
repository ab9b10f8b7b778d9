#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Builds the Debian package from a copy of the source tree, checks it with
# lintian (no errors), installs it with dpkg -i, runs the installed binary,
# verifies the installed unit with systemd-analyze and purges the package.
# Needs root (dpkg -i): without it, and outside CI, it skips (exit 77).
set -eu
src=$1
version=$2
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-buildpackage >/dev/null 2>&1; then
	if [ -n "${CI:-}" ]; then
		echo "test_deb: needs root and dpkg-buildpackage in CI" >&2
		exit 1
	fi
	echo "test_deb: skipped (needs root and dpkg-dev, debhelper, lintian)"
	exit 77
fi
if dpkg-query -W -f='${Status}' kexwatch 2>/dev/null | grep -q "ok installed"; then
	echo "test_deb: a kexwatch package is installed already; not touching it" >&2
	exit 1
fi
work=$(mktemp -d /tmp/kx-deb.XXXXXX)
trap 'dpkg --purge kexwatch >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir "$work/kexwatch"
# The tree without build directories or captures (the package needs neither).
tar -C "$src" --exclude='./build*' --exclude='./obj-*' --exclude='./pcaps' \
	--exclude='./.git' --exclude='./debian/kexwatch' --exclude='./debian/.debhelper' -cf - . |
	tar -C "$work/kexwatch" -xf -
cd "$work/kexwatch"
DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 || {
	tail -40 "$work/build.log" >&2
	echo "test_deb: dpkg-buildpackage failed" >&2
	exit 1
}
deb=$(ls "$work"/kexwatch_*.deb)
case $deb in
*"kexwatch_${version}_"*) ;;
*) echo "test_deb: $deb does not carry version $version" >&2; exit 1 ;;
esac
echo "built $(basename "$deb")"
lintian --fail-on error "$deb" >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log" >&2
	echo "test_deb: lintian reports errors" >&2
	exit 1
}
sed "s/^/lintian: /" "$work/lintian.log"
dpkg -i "$deb"
for f in /usr/bin/kexwatch /usr/share/man/man1/kexwatch.1.gz /usr/share/man/man5/kexwatch.db.5.gz \
	/usr/share/bash-completion/completions/kexwatch /lib/systemd/system/kexwatch.service \
	/usr/lib/sysusers.d/kexwatch.conf /usr/lib/tmpfiles.d/kexwatch.conf /etc/default/kexwatch \
	/etc/logrotate.d/kexwatch /usr/share/kexwatch/dashboards/kexwatch-live-prometheus.json \
	/usr/share/kexwatch/prometheus/kexwatch-rules.yml; do
	[ -e "$f" ] || { echo "test_deb: $f not installed" >&2; exit 1; }
done
got=$(/usr/bin/kexwatch --version | head -1)
[ "$got" = "kexwatch $version" ] || { echo "test_deb: --version says '$got'" >&2; exit 1; }
echo "$got"
getent passwd kexwatch >/dev/null || { echo "test_deb: no kexwatch user after install" >&2; exit 1; }
grep -q '^ExecStart=/usr/bin/kexwatch live' /lib/systemd/system/kexwatch.service
systemd-analyze verify /lib/systemd/system/kexwatch.service
dpkg --purge kexwatch
[ ! -e /usr/bin/kexwatch ] || { echo "test_deb: /usr/bin/kexwatch left after purge" >&2; exit 1; }
[ ! -e /etc/default/kexwatch ] || { echo "test_deb: conffile left after purge" >&2; exit 1; }
echo "test_deb: ok"
