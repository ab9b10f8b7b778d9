#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Writes the inventory dashboard for the central PostgreSQL store.

usage: inventory-to-postgresql.py [SQLITE_JSON] > kexwatch-inventory-postgresql.json

kexwatch-inventory-postgresql.json is this script's output for
kexwatch-inventory-sqlite.json (tests/integration/test_dashboards.py checks
that they agree, and runs both on the same handshakes and sessions). The
panels read only the handshakes and sessions tables, whose columns are the
same in both stores, in SQL both engines accept; what changes:

- the data source: grafana-postgresql-datasource (Grafana's built-in
  PostgreSQL plugin; called "postgres" before Grafana 10.2.3, which still
  accepts the new name) instead of frser-sqlite-datasource;
- each target: rawSql and format ("time_series" or "table") instead of
  rawQueryText/queryText, queryType and timeColumns;
- the one SQLite function: group_concat(X) becomes string_agg(X, ','),
  group_concat(X, SEP) becomes string_agg(X, SEP).
"""
import json
import os
import re
import sys

SQLITE, PG = "frser-sqlite-datasource", "grafana-postgresql-datasource"

# Spellings that work in SQLite only. The dashboard avoids them; a panel
# that brings one back must be rewritten rather than converted.
SQLITE_ONLY = [
    (r"\$__unixEpochGroupSeconds", "the plugin's macro: use ts_first_us / 3600000000 * 3600"),
    (r"\b(date|datetime|strftime|julianday|unixepoch)\s*\(", "SQLite date functions: use ts_first_us arithmetic"),
    (r"\b(max|min)\s*\([^()]*,", "two-argument max/min: use CASE"),
    (r"\bsum\s*\(\s*\w+\s*(=|IN\b|<|>)", "sum of a comparison: use count(*) FILTER (WHERE ...)"),
    (r"\bIS\s+'", "IS 'text': use = (in a FILTER) or IS NULL"),
    (r"\b(ifnull|iif|instr|printf)\s*\(", "SQLite functions"),
]


def group_concat_to_string_agg(sql):
    out, i = [], 0
    for m in re.finditer(r"\bgroup_concat\s*\(", sql):
        if m.start() < i:
            continue
        depth, j, args, start = 1, m.end(), [], m.end()
        while depth:
            c = sql[j]
            if c == "'":
                j = sql.index("'", j + 1)
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            elif c == "," and depth == 1:
                args.append(sql[start:j])
                start = j + 1
            j += 1
        args.append(sql[start:j - 1])
        args = [a.strip() for a in args]
        sep = args[1] if len(args) == 2 else "','"
        out.append(sql[i:m.start()] + f"string_agg({group_concat_to_string_agg(args[0])}, {sep})")
        i = j
    return "".join(out) + sql[i:]


def to_postgresql_sql(sql):
    for pattern, why in SQLITE_ONLY:
        m = re.search(pattern, sql, re.IGNORECASE)
        if m:
            raise ValueError(f"SQLite-only SQL ({why}): {m.group(0)!r} in {sql!r}")
    return group_concat_to_string_agg(sql)


def retype(node):
    """Every data source reference of the SQLite plugin, recursively."""
    if isinstance(node, dict):
        if node.get("type") == SQLITE and "uid" in node:
            node["type"] = PG
        for v in node.values():
            retype(v)
    elif isinstance(node, list):
        for v in node:
            retype(v)


def convert(d):
    d = json.loads(json.dumps(d))
    d["title"] = "kexwatch: post-quantum key exchange (central inventory)"
    d["uid"] = "kexwatch-inventory-pg"
    d["description"] = ("The kexwatch central inventory (handshakes and sessions tables of the PostgreSQL store that "
                        "`kexwatch read|live --pg` fills), filtered by the sensor variable. Generated from "
                        "kexwatch-inventory-sqlite.json by inventory-to-postgresql.py.")
    d["tags"] = ["postgresql" if t == "sqlite" else t for t in d["tags"]]
    retype(d)
    for v in d["templating"]["list"]:
        if v["type"] == "datasource":
            v["query"] = PG
            v["label"] = "kexwatch central inventory"
        elif v["type"] == "query":
            v["query"] = v["definition"] = to_postgresql_sql(v["query"])
    panels = []
    for p in d["panels"]:
        panels.append(p)
        panels.extend(p.get("panels", []))
    for p in panels:
        p["title"] = p["title"].replace("SQLite inventory", "central inventory")
        for i, t in enumerate(p.get("targets", [])):
            p["targets"][i] = {
                "datasource": t["datasource"],
                "refId": t["refId"],
                "editorMode": "code",
                "format": "time_series" if t["queryType"] == "time series" else "table",
                "rawQuery": True,
                "rawSql": to_postgresql_sql(t["rawQueryText"]),
            }
    return d


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "kexwatch-inventory-sqlite.json")
    with open(src) as f:
        d = json.load(f)
    sys.stdout.write(json.dumps(convert(d), indent=2) + "\n")


if __name__ == "__main__":
    main()
