#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Checks that two kexwatch databases hold the same handshakes and sessions, every column.

    same_rows.py [--common-columns] A.db B.db

Compares the rows of the handshakes view of both files, all columns but the
ids (id, run_id) and the source file's name, as multisets, and then the rows
of the sessions table (sessions without a handshake, schema 6), all columns
but the ids (id, run_id, source_id). The benchmark uses it to hold the fast
paths to the reference run (--no-fastpath) and to the libpcap reader.

--common-columns compares only the columns both files have, and a sessions
table only when both have one (it says what it left out): for a build of an
older schema against a newer one, whose views gained columns at their end.

Prints the first differences; exits 1 when the rows differ, 2 on a usage or
input error.
"""
import collections
import sqlite3
import sys

SKIP = {"handshakes": {"id", "run_id", "source"}, "sessions": {"id", "run_id", "source_id"}}


def columns(db, table):
    return [r[1] for r in db.execute("SELECT * FROM pragma_table_info(?)", (table,))
            if r[1] not in SKIP[table]]


def rows(db, table, cols):
    q = "SELECT " + ", ".join(f'"{c}"' for c in cols) + f" FROM {table}"
    return collections.Counter(db.execute(q))


def compare(table, da, db, pa, pb, common):
    """Prints the verdict for one table; returns 0 (same) or 1."""
    ca, cb = columns(da, table), columns(db, table)
    if not ca and not cb and table == "sessions":
        print("same_rows: sessions: neither file has the table")
        return 0
    if common:
        if not ca or not cb:
            print(f"same_rows: {table}: only in {pa if ca else pb}, not compared")
            return 0
        left = [c for c in ca if c not in cb] + [c for c in cb if c not in ca]
        ca = cb = [c for c in ca if c in cb]
        if left:
            print(f"same_rows: {table}: columns in one file only, not compared: {', '.join(left)}")
    if not ca:
        raise ValueError(f"{pa}: no {table} table or view")
    if not cb:
        raise ValueError(f"{pb}: no {table} table or view")
    if ca != cb:
        print(f"same_rows: {table}: different columns: {ca} vs {cb}")
        return 1
    a, b = rows(da, table, ca), rows(db, table, cb)
    only_a, only_b = a - b, b - a
    n = sum(a.values())
    if not only_a and not only_b:
        print(f"same_rows: {table}: {n} rows, {len(ca)} columns each, identical")
        return 0
    print(f"same_rows: {table}: {sum(only_a.values())} rows only in {pa}, "
          f"{sum(only_b.values())} only in {pb}")
    for label, d in (("only in A", only_a), ("only in B", only_b)):
        for r in list(d)[:5]:
            print(f"  {label}: " + ", ".join(f"{c}={v!r}" for c, v in zip(ca, r)))
    return 1


def main():
    args = sys.argv[1:]
    common = "--common-columns" in args
    args = [a for a in args if a != "--common-columns"]
    if len(args) != 2 or any(a.startswith("-") for a in args):
        print(__doc__.strip().split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    pa, pb = args
    try:
        da = sqlite3.connect(f"file:{pa}?mode=ro", uri=True)
        db = sqlite3.connect(f"file:{pb}?mode=ro", uri=True)
        bad = compare("handshakes", da, db, pa, pb, common)
        bad += compare("sessions", da, db, pa, pb, common)
    except (sqlite3.Error, ValueError) as e:
        print(f"same_rows: {e}", file=sys.stderr)
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
