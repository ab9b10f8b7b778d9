#!/usr/bin/env python3
"""Prints each capture named in pcaps/expected.tsv once, for meson to register."""
import sys

seen = []
for line in open(sys.argv[1]):
    name = line.split("\t")[0].strip()
    if name and name != "file" and not name.startswith("#") and name not in seen:
        seen.append(name)
print("\n".join(seen))
