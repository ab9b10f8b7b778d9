#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Adds "SPDX-License-Identifier: BSD-2-Clause" (LICENSE) as a comment line to
# every tracked source, script and configuration file that lacks one in its
# first five lines: C as /* ... */ on line 1, '#' and '//' languages and man
# pages after a #! line if any. Data (captures, corpora, JSON, TSV, Markdown)
# is left alone.
#   contrib/spdx.sh           add the missing lines
#   contrib/spdx.sh --check   list the files that lack one; exit 1 if any
set -eu
cd "$(dirname "$0")/.."
check=0
[ "${1:-}" = --check ] && check=1
tag="SPDX-License-Identifier: BSD-2-Clause"
missing=0
files=$( (git ls-files 2>/dev/null || find . -type f ! -path './.git/*' | sed 's|^\./||') | grep -v '^pcaps/\|^tests/fuzz/corpus/')
for f in $files; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	case $f in
	pcaps/* | tests/fuzz/corpus/* | debian/source/* | debian/changelog | debian/copyright | debian/docs)
		continue ;;
	*.c | *.h) style=c ;;
	*.js) style=slash ;;
	*.1 | *.5) style=roff ;;
	*.py | *.sh | *.bash | meson.build | */meson.build | meson_options.txt | *.yml | debian/rules | \
	.ci/* | contrib/systemd/kexwatch.* | contrib/logrotate/*)
		style=hash ;;
	*) continue ;;
	esac
	head -n 5 "$f" | grep -q "SPDX-License-Identifier:" && continue
	missing=$((missing + 1))
	if [ $check -eq 1 ]; then
		echo "no SPDX line: $f"
		continue
	fi
	case $style in
	c) line="/* $tag */" ;;
	slash) line="// $tag" ;;
	roff) line='.\" '"$tag" ;;
	*) line="# $tag" ;;
	esac
	tmp="$f.spdx.$$"
	if [ $style != c ] && head -c 2 "$f" | grep -q '^#!'; then
		{ head -n 1 "$f"; echo "$line"; tail -n +2 "$f"; } >"$tmp"
	else
		{ echo "$line"; cat "$f"; } >"$tmp"
	fi
	chmod --reference="$f" "$tmp"
	mv "$tmp" "$f"
done
if [ $check -eq 1 ] && [ $missing -gt 0 ]; then
	echo "spdx: $missing files without an SPDX line (run contrib/spdx.sh)" >&2
	exit 1
fi
[ $check -eq 1 ] || echo "spdx: $missing files given an SPDX line"
