#!/usr/bin/env python3
"""The Grafana dashboards in dashboards/: valid dashboard JSON, and queries
that answer.

usage: test_dashboards.py KEXWATCH PCAPS_DIR [TEST_METRICS]

- Both files: schemaVersion, unique panel ids, gridPos inside the 24-column
  grid without overlaps, every non-row panel with a datasource ref and
  targets whose refIds are unique, every ${datasource} ref backed by a
  datasource variable of the right plugin type.
- SQLite dashboard: every panel query (rawQueryText) and the sensor variable's
  query run, after the substitutions Grafana and frser-sqlite-datasource make
  ($__from/$__to in ms, ${sensor:sqlstring}, $__unixEpochGroupSeconds), on a
  read-only connection to an inventory `kexwatch read` builds from pcaps/, and
  each returns at least one row with a non-NULL value.
- Prometheus dashboard: every metric name exists in the exposition that
  TEST_METRICS --dump writes, and (with promtool) every expression parses and
  returns samples over input series made from that exposition.
"""
import json
import os
import re
import sqlite3
import shutil
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
TEST_METRICS = sys.argv[3] if len(sys.argv) > 3 else None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASH = os.path.join(ROOT, "dashboards")
SQLITE_FILE = os.path.join(DASH, "kexwatch-inventory-sqlite.json")
PROM_FILE = os.path.join(DASH, "kexwatch-live-prometheus.json")
passed, failed = [], []


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    (passed if cond else failed).append(what)


def panels_of(d):
    for p in d["panels"]:
        yield p
        for q in p.get("panels", []):
            yield q


def check_structure(path, ds_type):
    name = os.path.basename(path)
    with open(path) as f:
        d = json.load(f)
    check(isinstance(d.get("schemaVersion"), int) and d["schemaVersion"] >= 36,
          f"{name}: schemaVersion {d.get('schemaVersion')}")
    check(bool(d.get("title")) and bool(d.get("uid")) and len(d["uid"]) <= 40,
          f"{name}: title and uid")
    variables = {v["name"]: v for v in d.get("templating", {}).get("list", [])}
    dsvar = variables.get("datasource")
    check(dsvar is not None and dsvar["type"] == "datasource" and dsvar["query"] == ds_type,
          f"{name}: a datasource variable for {ds_type}")
    ids, boxes = set(), []
    for p in panels_of(d):
        pid = p.get("id")
        gp = p.get("gridPos", {})
        ok = (isinstance(pid, int) and pid not in ids and
              all(isinstance(gp.get(k), int) for k in "xywh") and
              gp["x"] >= 0 and gp["w"] > 0 and gp["x"] + gp["w"] <= 24 and gp["h"] > 0)
        check(ok, f"{name}: panel {pid} '{p.get('title')}': unique id, gridPos {gp}")
        ids.add(pid)
        for (x, y, w, h, other) in boxes:
            if gp["x"] < x + w and x < gp["x"] + gp["w"] and gp["y"] < y + h and y < gp["y"] + gp["h"]:
                check(False, f"{name}: panel {pid} overlaps panel {other}")
        boxes.append((gp["x"], gp["y"], gp["w"], gp["h"], pid))
        if p["type"] == "row":
            continue
        ds = p.get("datasource", {})
        targets = p.get("targets", [])
        refs = [t.get("refId") for t in targets]
        check(ds.get("type") == ds_type and ds.get("uid") == "${datasource}" and targets and
              len(set(refs)) == len(refs) and all(refs) and
              all(t.get("datasource") == ds for t in targets),
              f"{name}: panel {pid} '{p['title']}': datasource ref and targets")
    # Every $variable used is defined (or a Grafana built-in).
    text = json.dumps(d)
    builtin = {"__from", "__to", "__rate_interval", "__range", "__interval", "__unixEpochGroupSeconds",
               "__auto"}
    used = set(re.findall(r"\$\{?(\w+)", text))
    check(used <= set(variables) | builtin, f"{name}: variables defined: {sorted(used - builtin)}")
    return d


# --- SQLite dashboard against a real inventory ---

def expand_sql(sql, t_from_ms, t_to_ms, sensors):
    """What Grafana and frser-sqlite-datasource hand to SQLite."""
    sql = sql.replace("${sensor:sqlstring}", ",".join("'" + s.replace("'", "''") + "'" for s in sensors))
    sql = sql.replace("$__from", str(t_from_ms)).replace("$__to", str(t_to_ms))
    # The plugin's only macro: cast((col / n) as int) * n.
    sql = re.sub(r"\$__unixEpochGroupSeconds\(([^,()]+),\s*(\d+)\)",
                 lambda m: f"cast(({m.group(1).strip()} / {m.group(2)}) as int) * {m.group(2)}", sql)
    return sql


def check_sqlite(d, tmp):
    db = os.path.join(tmp, "dash.db")
    caps = sorted(os.path.join(PCAPS, c) for c in os.listdir(PCAPS) if c.endswith((".pcap", ".pcapng")))
    p = subprocess.run([KX, "read", "--db", db, "--sensor", "lab", *caps], capture_output=True, text=True)
    check(p.returncode == 0, f"kexwatch read of {len(caps)} captures for the SQLite dashboard")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    lo, hi = con.execute("SELECT min(ts_first_us), max(ts_last_us) FROM handshakes").fetchone()
    t_from, t_to = lo // 1000 - 3600 * 1000, hi // 1000 + 3600 * 1000
    variables = {v["name"]: v for v in d["templating"]["list"]}
    q = variables["sensor"]["query"]
    sensors = [r[0] for r in con.execute(q)]
    check(sensors == ["lab"], f"sensor variable query: {sensors}")
    n = 0
    for panel in panels_of(d):
        for t in panel.get("targets", []):
            n += 1
            raw = t.get("rawQueryText", "")
            check(raw == t.get("queryText") and t.get("queryType") in ("table", "time series"),
                  f"panel {panel['id']} '{panel['title']}': rawQueryText/queryText/queryType")
            sql = expand_sql(raw, t_from, t_to, sensors)
            check("$" not in sql, f"panel {panel['id']}: every variable and macro expanded")
            try:
                cur = con.execute(sql)
                cols = [c[0] for c in cur.description]
                rows = cur.fetchall()
            except sqlite3.Error as e:
                check(False, f"panel {panel['id']} '{panel['title']}': {e}")
                continue
            nonnull = any(v is not None for r in rows for v in r)
            check(len(rows) > 0 and nonnull,
                  f"panel {panel['id']} '{panel['title']}': {len(rows)} rows, e.g. {rows[:1]}")
            if t["queryType"] == "time series":
                check(all(c in cols for c in t.get("timeColumns", [])) and t.get("timeColumns"),
                      f"panel {panel['id']}: time column {t.get('timeColumns')} present")
    check(n >= 10, f"{n} SQL panel queries checked")
    con.close()


# --- Prometheus dashboard against the real exposition ---

def prom_exprs(d):
    for panel in panels_of(d):
        for t in panel.get("targets", []):
            yield panel, t["expr"]


def substitute(expr):
    return (expr.replace("$__rate_interval", "5m").replace("$__range", "30m")
            .replace("$__interval", "1m").replace('"$sensor"', '".*"'))


def check_prometheus(d, tmp):
    if not TEST_METRICS:
        print("skip - Prometheus expressions: no test_metrics binary given")
        return
    dump = os.path.join(tmp, "metrics.txt")
    p = subprocess.run([TEST_METRICS, "--dump", dump], capture_output=True, text=True)
    check(p.returncode == 0 and os.path.exists(dump), "test_metrics --dump wrote the exposition")
    names, series = set(), []
    with open(dump) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            m = re.match(r"([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
            if m:
                names.add(m.group(1))
                series.append((m.group(1) + (m.group(2) or ""), float(m.group(3))))
    for panel, expr in prom_exprs(d):
        used = set(re.findall(r"\b(kexwatch_\w+)", expr))
        missing = used - names
        check(not missing, f"panel {panel['id']} '{panel['title']}': metrics exist {sorted(used)}"
              + (f", missing {sorted(missing)}" if missing else ""))
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip - Prometheus expressions: promtool not installed (Debian package prometheus)")
        return
    # Counters grow by their dumped value each minute, gauges stay: every
    # expression then has data to return.
    lines = []
    for s, v in series:
        step = max(v, 1.0)
        growing = s.split("{")[0].endswith(("_total", "_bucket", "_count", "_sum"))
        lines.append(f"      - series: '{s}'\n        values: '{0 if growing else v:g}+{step if growing else 0:g}x60'")
    for panel, expr in prom_exprs(d):
        e = substitute(expr)
        rules = os.path.join(tmp, "rules.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n      - record: dashboard:expr\n"
                    f"        expr: {json.dumps(e)}\n")
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        check(r.returncode == 0, f"panel {panel['id']}: promtool check rules: {e[:70]}"
              + ("" if r.returncode == 0 else " " + r.stdout + r.stderr))
        test = os.path.join(tmp, "test.yml")
        with open(test, "w") as f:
            f.write("rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
                    "    input_series:\n" + "\n".join(lines) + "\n"
                    "    promql_expr_test:\n"
                    f"      - expr: {json.dumps(e)}\n        eval_time: 40m\n        exp_samples: []\n")
        # An expression that returns samples "fails" against the empty expectation.
        r = subprocess.run([promtool, "test", "rules", test], capture_output=True, text=True)
        out = r.stdout + r.stderr
        check(r.returncode == 1 and "got:" in out and "got: nil" not in out,
              f"panel {panel['id']} '{panel['title']}': returns samples")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        s = check_structure(SQLITE_FILE, "frser-sqlite-datasource")
        pr = check_structure(PROM_FILE, "prometheus")
        check_sqlite(s, tmp)
        check_prometheus(pr, tmp)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


sys.exit(main())
