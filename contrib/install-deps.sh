#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Installs what building and testing kexwatch needs on Debian 12, via sudo
# when not root. Required packages must install; the optional ones (tools
# some tests use, which then say they skipped) are tried one by one.
set -eu
required="meson ninja-build pkg-config gcc libc6-dev libpcap-dev libndpi-dev libsqlite3-dev
	libpq-dev zlib1g-dev liblzma-dev libzstd-dev wireshark-common postgresql python3 python3-jsonschema iproute2 ethtool openssl curl clang libclang-rt-14-dev
	mandoc debhelper dpkg-dev fakeroot lintian"
# zlib1g-dev, liblzma-dev and libzstd-dev read gzip, xz and zstd captures;
# wireshark-common's mergecap/editcap make the mixed-link pcapng of test inputs.
# python3-jsonschema validates the JSON events against contrib/schema/.
# mandoc checks the man pages; debhelper, dpkg-dev, fakeroot and lintian
# build and check the Debian package (test deb).
# promtool, logrotate and systemd-analyze check contrib/; chromium renders the
# HTML report and poppler-utils' pdftotext reads the PDF it prints (test
# report-print); npm fetches Node 24 for the live tests' hybrid peers
# (skipped when a non-Debian Node already provides npm).
optional="prometheus logrotate systemd chromium poppler-utils npm"
if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo"; fi
missing() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"
	done
}
need=$(missing $required)
want=$(missing $optional)
# A non-Debian npm (nvm, NodeSource) counts as present: without this every
# call would run apt-get update for a package it then skips.
if command -v npm >/dev/null 2>&1; then
	want=$(echo "$want" | grep -vx npm || true)
fi
[ -z "$need$want" ] && exit 0
$as_root apt-get update -qq
if [ -n "$need" ]; then
	DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $need
fi
for p in $want; do
	DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends "$p" \
		>/dev/null 2>&1 || echo "install-deps: optional package $p could not be installed" >&2
done
