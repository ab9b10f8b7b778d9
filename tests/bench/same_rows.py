#!/usr/bin/env python3
"""Checks that two kexwatch databases hold the same handshakes, every column.

    same_rows.py A.db B.db

Compares the rows of the handshakes view of both files, all columns but the
ids (id, run_id) and the source file's name, as multisets. The benchmark uses
it to hold the fast paths to the reference run (--no-fastpath) and to the
libpcap reader. Prints the first differences; exits 1 when the rows differ,
2 on a usage or input error.
"""
import collections
import sqlite3
import sys

SKIP = {"id", "run_id", "source"}


def rows(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    cols = [r[1] for r in db.execute("SELECT * FROM pragma_table_info('handshakes')")
            if r[1] not in SKIP]
    if not cols:
        raise ValueError(f"{path}: no handshakes table or view")
    q = "SELECT " + ", ".join(f'"{c}"' for c in cols) + " FROM handshakes"
    return cols, collections.Counter(db.execute(q))


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    try:
        ca, a = rows(sys.argv[1])
        cb, b = rows(sys.argv[2])
    except (sqlite3.Error, ValueError) as e:
        print(f"same_rows: {e}", file=sys.stderr)
        return 2
    if ca != cb:
        print(f"same_rows: different columns: {ca} vs {cb}")
        return 1
    only_a, only_b = a - b, b - a
    n = sum(a.values())
    if not only_a and not only_b:
        print(f"same_rows: {n} rows, {len(ca)} columns each, identical")
        return 0
    print(f"same_rows: {sum(only_a.values())} rows only in {sys.argv[1]}, "
          f"{sum(only_b.values())} only in {sys.argv[2]}")
    for label, d in (("only in A", only_a), ("only in B", only_b)):
        for r in list(d)[:5]:
            print(f"  {label}: " + ", ".join(f"{c}={v!r}" for c, v in zip(ca, r)))
    return 1


if __name__ == "__main__":
    sys.exit(main())
