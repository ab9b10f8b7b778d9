#!/bin/sh
# Installs what building and testing kexwatch needs on Debian 12.
# Runs apt-get directly as root, through sudo otherwise.
set -eu
# prometheus (promtool), logrotate and systemd check the files in contrib/.
pkgs="meson ninja-build pkg-config gcc libc6-dev libpcap-dev libndpi-dev libsqlite3-dev python3
      prometheus logrotate systemd iproute2 ethtool openssl curl npm clang libclang-rt-14-dev chromium"
if [ "$(id -u)" -eq 0 ]; then as_root=""; else as_root="sudo"; fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$as_root apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing
fi
