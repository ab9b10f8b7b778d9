#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The Grafana dashboards in dashboards/: valid dashboard JSON, and queries
that answer, for every choice of the sensor variable.

usage: test_dashboards.py KEXWATCH PCAPS_DIR [TEST_METRICS]

- All files: schemaVersion, unique panel ids, gridPos inside the 24-column
  grid without overlaps, every non-row panel with a datasource ref and
  targets whose refIds are unique, every ${datasource} ref backed by a
  datasource variable of the right plugin type, a multi-value `sensor`
  variable with All selected, and every panel query filtered by it (the SQL
  ones read only the handshakes and sessions tables).
- SQLite dashboard, on an inventory of two sensors (`kexwatch read --sensor`
  of two disjoint sets of captures into one database; the second name has a
  quote, so ${sensor:sqlstring} must escape it; each also reads a capture
  of sessions without a handshake that tests/integration/plaincap.py writes,
  different for the two): every panel query and the
  sensor variable's query run, after the substitutions Grafana makes
  ($__from/$__to in ms, ${sensor:sqlstring}), on a read-only connection,
  with the variable at All, at each sensor alone and at an unknown name:
  - each returns rows with a value (the unknown name: no handshakes);
  - the handshake count, hybrid share, per-verdict totals and classical
    evidence rows equal the values computed from pcaps/expected*.tsv for
    that selection (one row per distinct connection);
  - one sensor selected gives exactly what the same query gives on a
    database of that sensor's captures alone, and differs from the other
    sensor and from All;
  - the panels that compute what a view computes (hops, clients,
    clienthello_sizes, hybrid_share_daily, classical_handshakes, the
    plaintext endpoints of hops) agree with
    that view: on the one-sensor databases for one sensor, on the
    two-sensor database for All.
- PostgreSQL dashboard: kexwatch-inventory-postgresql.json is what
  dashboards/inventory-to-postgresql.py makes of the SQLite one; when the
  PostgreSQL server binaries are installed (skipped with a message
  otherwise), a private server (initdb in a temporary directory, unix
  socket only) receives the same two sensors through `kexwatch read --pg`,
  and every panel query and the variable's query give there the same
  columns and rows as on SQLite, for every selection.
- Prometheus dashboard: every metric name exists in the exposition that
  TEST_METRICS --dump writes, and (with promtool) every expression parses,
  returns samples over input series made from that exposition for two
  sensors `a` and `b` (b counting twice as fast), and honours the variable:
  All is 3 times `a` for sums (equal for ratios and quantiles), the
  multi-value form (a|b) equals All, an unknown sensor returns nothing, and
  the hybrid share of a sensor with only classical handshakes is 0.
"""
import csv
import glob
import io
import json
import os
import pwd
import re
import sqlite3
import shutil
import subprocess
import sys
import tempfile
from collections import Counter

from plaincap import plain_capture

KX, PCAPS = sys.argv[1], sys.argv[2]
TEST_METRICS = sys.argv[3] if len(sys.argv) > 3 else None
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASH = os.path.join(ROOT, "dashboards")
SQLITE_FILE = os.path.join(DASH, "kexwatch-inventory-sqlite.json")
PG_FILE = os.path.join(DASH, "kexwatch-inventory-postgresql.json")
PROM_FILE = os.path.join(DASH, "kexwatch-live-prometheus.json")
passed, failed = [], []

# Two sensors on disjoint captures. B gets a few of every kind (hybrid, pq,
# both classical reasons, TLS 1.2, HelloRetryRequest, an unanswered
# ClientHello, SSH, STARTTLS, QUIC); A all the others.
SENSOR_A, SENSOR_B = "edge", "o'hare"
CAPS_B = ["tls13-mlkem768.pcap", "tls13-server-declined.pcap", "tls13-client-no-pq.pcap",
          "tls13-incomplete-rst.pcap", "tls13-hrr-x25519mlkem768.pcap", "tls12-ecdhe.pcap",
          "ssh-default-sntrup.pcap", "ssh-client-classical.pcap", "starttls-smtp.pcap",
          "quic-chromium-ngtcp2.pcap"]
DECIDING = ("hybrid", "pq", "hybrid-draft", "classical", "unknown")


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    (passed if cond else failed).append(what)
    if not cond and detail:
        print("# " + str(detail).replace("\n", "\n# "))


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
    # The sensor variable: multi-value with All, and every query uses it.
    sv = variables.get("sensor")
    check(sv is not None and sv["type"] == "query" and sv.get("multi") is True and
          sv.get("includeAll") is True and sv["datasource"] == {"type": ds_type, "uid": "${datasource}"}
          and sv.get("current", {}).get("value") == ["$__all"],
          f"{name}: sensor variable: multi-value, All included and selected, on ${{datasource}}")
    for p in panels_of(d):
        for t in p.get("targets", []):
            q = t.get("expr") or t.get("rawQueryText") or t.get("rawSql") or ""
            if ds_type == "prometheus":
                selectors = re.findall(r"\b(kexwatch_\w+)(\{[^}]*\})?", q)
                ok = selectors and all('sensor=~"$sensor"' in sel for _, sel in selectors)
            else:
                ok = "sensor IN (${sensor:sqlstring})" in q and re.search(r"FROM (handshakes|sessions)\b", q) \
                    and not re.search(
                    r"\bFROM\s+(hops|clients|hybrid_share_daily|clienthello_sizes|classical_handshakes)\b", q)
            check(bool(ok), f"{name}: panel {p['id']} '{p['title']}' {t['refId']}: filtered by the sensor variable")
    # Every $variable used is defined (or a Grafana built-in).
    text = json.dumps(d)
    builtin = {"__from", "__to", "__rate_interval", "__range", "__interval",
               "__auto", "__all"}
    used = set(re.findall(r"\$\{?(\w+)", text))
    check(used <= set(variables) | builtin, f"{name}: variables defined: {sorted(used - builtin)}")
    return d


# --- SQLite dashboard against a real inventory of two sensors ---

def sqlstring(sensors):
    """Grafana's ${var:sqlstring}: every selected value quoted, quotes doubled."""
    return ",".join("'" + s.replace("'", "''") + "'" for s in sensors)


def expand_sql(sql, t_from_ms, t_to_ms, sensors):
    """What Grafana hands to the data source (All: every value the variable's
    query returned, since the variable has no custom all value)."""
    sql = sql.replace("${sensor:sqlstring}", sqlstring(sensors))
    return sql.replace("$__from", str(t_from_ms)).replace("$__to", str(t_to_ms))


def load_expectations():
    """{capture: [((client ip, port, server ip, port, tunnel), verdict)]} from
    pcaps/expected*.tsv; the tunnel (expected-tunnel.tsv) tells apart two
    tenants' connections with the same addresses and ports.
    expected-sessions.tsv lists connections without a handshake: a capture
    of those only has an empty list."""
    out = {}
    tunnels = {}
    with open(os.path.join(PCAPS, "expected-tunnel.tsv")) as f:
        for l in list(f)[1:]:
            cols = l.rstrip("\n").split("\t")
            tunnels[(cols[0], cols[1])] = cols[4]
    for tsv in sorted(glob.glob(os.path.join(PCAPS, "expected*.tsv"))):
        with open(tsv) as f:
            lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
        head = lines[0]
        if "expected_verdict" not in head and "verdict" not in head:
            continue  # expected-tunnel.tsv
        for cols in lines[1:]:
            row = dict(zip(head, cols))
            if tsv.endswith("expected-sessions.tsv"):
                out.setdefault(row["file"], [])
                continue
            verdict = (row.get("expected_verdict") or row["verdict"]).split("/")[0]
            tunnel = tunnels.get((row["file"], row.get("first_ch_frame")), "")
            key = (row["client_ip"], row["client_port"], row["server_ip"], row["server_port"], tunnel)
            out.setdefault(row["file"], []).append((key, verdict))
    return out


def expected_verdicts(expect, caps):
    """Verdict counts of one sensor reading CAPS: a connection that several
    captures hold (the same packets on other link layers) is one row."""
    seen = {}
    for c in caps:
        for key, verdict in expect[c]:
            check(seen.setdefault(key, verdict) == verdict, f"expected*.tsv: {key} has one verdict")
    return Counter(seen.values())


def run_sql(con, sql):
    cur = con.execute(sql)
    return [c[0] for c in cur.description], cur.fetchall()


def bag(rows):
    return sorted(rows, key=repr)


def bag_diff(x, y, xname, yname):
    """The rows only one of two results has (a failure's detail)."""
    cx, cy = Counter(map(repr, x)), Counter(map(repr, y))
    return (f"only in {xname}: {sorted((cx - cy).elements())[:5]}\n"
            f"only in {yname}: {sorted((cy - cx).elements())[:5]}")


# The views' last_seen text as the panels give it: milliseconds since the
# epoch (a time both engines compute from ts_last_us alike).
LAST_SEEN_MS = ("CAST(strftime('%s', substr(last_seen, 1, 19)) AS INTEGER) * 1000"
                " + CAST(substr(last_seen, 21, 3) AS INTEGER) AS last_seen")

# What the panels compute from handshakes, as the views compute it over the
# whole file: on a database of one sensor, the view is that sensor's answer.
VIEW_REFERENCE = {
    "Classical endpoints (all time)":
        "SELECT count(*) AS endpoints FROM hops WHERE verdict LIKE 'classical%'",
    "Server-declined endpoints (all time)":
        "SELECT count(*) AS endpoints FROM hops WHERE verdict = 'classical (server-declined)'",
    "Hybrid share per day":
        "SELECT CAST(strftime('%s', day) AS INTEGER) AS time, hybrid_share FROM hybrid_share_daily"
        " WHERE day >= date($__from / 1000, 'unixepoch') AND day <= date($__to / 1000, 'unixepoch')",
    "Hops, riskiest first (all time)":
        "SELECT server_ip, server_port, sni, verdict, handshakes, clients, n_hybrid, n_pq, n_classical,"
        " n_client_no_pq, n_server_declined, n_tls12, n_plaintext, groups_selected, " + LAST_SEEN_MS
        + " FROM hops",
    "Clients that offer no PQ (all time)":
        "SELECT client_ip, offers_pq, n_no_pq, n_hello, handshakes, servers, n_classical, " + LAST_SEEN_MS
        + " FROM clients WHERE offers_pq IN ('none', 'some')",
    "Plaintext endpoints (all time)":
        "SELECT count(*) AS endpoints FROM hops WHERE verdict = 'plaintext'",
    "Last classical handshakes (evidence)":
        "SELECT ts_first, sensor, protocol, client_ip, server_ip, server_port, sni, group_name, reason,"
        " source, pkt_first_ch, pkt_sh FROM classical_handshakes"
        " WHERE ts_first_us >= $__from * 1000 AND ts_first_us < $__to * 1000",
    "ClientHello size bands (all time)":
        "SELECT band, handshakes, answered, no_server_hello, pct_no_server_hello, n_rst, n_fin, n_timeout,"
        " n_end_of_capture, n_gap, n_first_segment_lost, n_hrr, n_slow, n_capacity FROM clienthello_sizes",
}
VERDICTS = ["hybrid", "pq", "hybrid-draft", "classical", "unknown", "resumed", "incomplete"]


def plain_captures(db, tmp):
    """The sessions captures of the two sensors, one minute after the last
    leg of db: A has HTTP, Redis (2), PostgreSQL and an encrypted session
    without its handshake; B HTTP and Redis (2) on other servers."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    t0 = con.execute("SELECT max(t) FROM (SELECT max(ts_last_us) AS t FROM handshakes"
                     " UNION ALL SELECT max(ts_last_us) FROM sessions)").fetchone()[0] // 1000000 + 60
    con.close()
    out = {SENSOR_A: os.path.join(tmp, "plain-a.pcap"), SENSOR_B: os.path.join(tmp, "plain-b.pcap")}
    plain_capture(out[SENSOR_A], t0=t0)
    plain_capture(out[SENSOR_B], t0=t0, net="10.21.0", only=("http", "redis"))
    return out


def read_into(db, sensor, caps, *extra):
    p = subprocess.run([KX, "read", "--db", db, "--sensor", sensor, *extra,
                        *(os.path.join(PCAPS, c) for c in caps)], capture_output=True, text=True)
    check(p.returncode == 0, f"kexwatch read --sensor {sensor!r} of {len(caps)} captures into "
          f"{os.path.basename(db)}{' ' + ' '.join(extra[:1]) if extra else ''}", p.stderr)


def sql_targets(d):
    for panel in panels_of(d):
        for t in panel.get("targets", []):
            yield panel, t


def check_sqlite(d, tmp):
    """Returns what the PostgreSQL check needs: captures, databases, time range."""
    expect = load_expectations()
    caps = sorted(c for c in os.listdir(PCAPS) if c.endswith((".pcap", ".pcapng")))
    check(set(caps) == set(expect), "every capture has expected rows in pcaps/expected*.tsv",
          sorted(set(caps) ^ set(expect)))
    caps_a = [c for c in caps if c not in CAPS_B]
    check(len(caps_a) + len(CAPS_B) == len(caps), f"sensors: {SENSOR_A} {len(caps_a)} captures, "
          f"{SENSOR_B} {len(CAPS_B)}")
    both, one = os.path.join(tmp, "both.db"), {SENSOR_A: os.path.join(tmp, "a.db"), SENSOR_B: os.path.join(tmp, "b.db")}
    for sensor, cs in ((SENSOR_A, caps_a), (SENSOR_B, CAPS_B)):
        read_into(both, sensor, cs)
        read_into(one[sensor], sensor, cs)
    # Sessions without a handshake, after every handshake (the store counts
    # sessions inside a span an earlier run of the sensor covered as seen).
    plain = plain_captures(both, tmp)
    for sensor in (SENSOR_A, SENSOR_B):
        read_into(both, sensor, [plain[sensor]])
        read_into(one[sensor], sensor, [plain[sensor]])
    ref = {SENSOR_A: expected_verdicts(expect, caps_a), SENSOR_B: expected_verdicts(expect, CAPS_B)}
    # Plaintext sessions by application: pcaps/expected-sessions.tsv for the
    # bundled captures, and what plain_captures wrote.
    plain_ref = {}
    with open(os.path.join(PCAPS, "expected-sessions.tsv")) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    srows = [dict(zip(lines[0], cols)) for cols in lines[1:]]
    for sensor, cs, written in ((SENSOR_A, caps_a, {"redis": 2, "http": 1, "postgresql": 1}),
                                (SENSOR_B, CAPS_B, {"redis": 2, "http": 1})):
        plain_ref[sensor] = Counter(written) + Counter(r["app"] for r in srows
                                                       if r["file"] in cs and r["verdict"] == "plaintext")
    plain_ref["All"] = plain_ref[SENSOR_A] + plain_ref[SENSOR_B]
    ref["All"] = ref[SENSOR_A] + ref[SENSOR_B]
    ref["nosuch"] = Counter()
    selections = {"All": [SENSOR_A, SENSOR_B], SENSOR_A: [SENSOR_A], SENSOR_B: [SENSOR_B], "nosuch": ["nosuch"]}

    con = sqlite3.connect(f"file:{both}?mode=ro", uri=True)
    cons = {s: sqlite3.connect(f"file:{db}?mode=ro", uri=True) for s, db in one.items()}
    lo, hi = con.execute("SELECT min(lo), max(hi) FROM (SELECT min(ts_first_us) AS lo, max(ts_last_us) AS hi"
                         " FROM handshakes UNION ALL SELECT min(ts_first_us), max(ts_last_us) FROM sessions)").fetchone()
    t_from, t_to = lo // 1000 - 3600 * 1000, hi // 1000 + 3600 * 1000
    variables = {v["name"]: v for v in d["templating"]["list"]}
    sensors = [r[0] for r in con.execute(variables["sensor"]["query"])]
    check(sensors == [SENSOR_A, SENSOR_B], f"sensor variable query: {sensors}")
    selections["All"] = sensors

    n, titles = 0, set()
    for panel, t in sql_targets(d):
        n += 1
        title, pid = panel["title"], panel["id"]
        titles.add(title)
        raw = t.get("rawQueryText", "")
        check(raw == t.get("queryText") and t.get("queryType") in ("table", "time series"),
              f"panel {pid} '{title}': rawQueryText/queryText/queryType")
        got = {}
        for sel, values in selections.items():
            sql = expand_sql(raw, t_from, t_to, values)
            if "$" in sql:
                check(False, f"panel {pid}: every variable and macro expanded", sql)
                break
            try:
                cols, rows = run_sql(con, sql)
            except sqlite3.Error as e:
                check(False, f"panel {pid} '{title}' [{sel}]: {e}")
                continue
            got[sel] = (cols, rows)
            values_ = [v for r in rows for v in r]
            if sel == "nosuch":
                check(all(v in (None, 0) for v in values_),
                      f"panel {pid} '{title}' [unknown sensor]: no handshakes ({len(rows)} rows: {rows[:1]})")
                continue
            check(len(rows) > 0 and any(v is not None for v in values_),
                  f"panel {pid} '{title}' [{sel}]: {len(rows)} rows, e.g. {rows[:1]}")
            if t["queryType"] == "time series":
                check(t.get("timeColumns") and all(c in cols for c in t["timeColumns"]),
                      f"panel {pid} [{sel}]: time column {t.get('timeColumns')} present")
            # The same query on the database of this sensor alone.
            if sel in cons:
                c1, r1 = run_sql(cons[sel], sql)
                check(c1 == cols and bag(r1) == bag(rows),
                      f"panel {pid} '{title}' [{sel}]: exactly the rows of a database of {sel!r}'s captures alone",
                      f"columns {cols} / {c1}\n" + bag_diff(rows, r1, "two-sensor database", "one-sensor database"))
            # The view that computes the same, on the database that holds
            # exactly the selection.
            if title in VIEW_REFERENCE:
                vsql = expand_sql(VIEW_REFERENCE[title], t_from, t_to, values)
                vc, vr = run_sql(cons[sel] if sel in cons else con, vsql)
                check(vc == cols and bag(vr) == bag(rows),
                      f"panel {pid} '{title}' [{sel}]: the same as the view ({len(vr)} rows)",
                      f"columns {cols} / {vc}\n" + bag_diff(rows, vr, "panel", "view"))
            # Values known from pcaps/expected*.tsv.
            r = ref[sel]
            total, deciding = sum(r.values()), sum(r[v] for v in DECIDING)
            if title == "Handshakes":
                check(rows == [(total,)], f"panel {pid} [{sel}]: {rows[0][0]} handshakes, expected {total}")
            elif title == "Hybrid share":
                want = (r["hybrid"] + r["pq"]) / deciding
                check(rows == [(want,)], f"panel {pid} [{sel}]: hybrid share {rows[0][0]}, expected "
                      f"({r['hybrid']} + {r['pq']}) / {deciding} = {want}")
            elif title == "Handshakes per hour by verdict":
                sums = {c: sum(row[i] for row in rows) for i, c in enumerate(cols) if c != "time"}
                check(sums == {v: r[v] for v in VERDICTS},
                      f"panel {pid} [{sel}]: per-verdict totals {sums}, expected {dict(r)}")
            elif title == "Plaintext sessions by application":
                want = sorted(plain_ref[sel].items(), key=lambda kv: (-kv[1], kv[0]))
                check(rows == want, f"panel {pid} [{sel}]: plaintext sessions by application {rows}", want)
            elif title == "Last classical handshakes (evidence)":
                ss = {row[cols.index("sensor")] for row in rows}
                check(len(rows) == r["classical"] and ss == set(values),
                      f"panel {pid} [{sel}]: {len(rows)} classical handshakes of {sorted(ss)}, "
                      f"expected {r['classical']} of {sorted(values)}")
        # A sensor is not the other, nor both.
        if all(s in got for s in ("All", SENSOR_A, SENSOR_B)):
            a, b, al = (bag(got[s][1]) for s in (SENSOR_A, SENSOR_B, "All"))
            check(a != b and a != al and b != al,
                  f"panel {pid} '{title}': {SENSOR_A}, {SENSOR_B} and All give different results")
    check(n >= 17, f"{n} SQL panel queries checked")
    for need in ("Handshakes", "Hybrid share", "Handshakes per hour by verdict", "Plaintext sessions by application",
                 *VIEW_REFERENCE):
        check(need in titles, f"panel '{need}' present")
    check(ref["All"]["classical"] > ref[SENSOR_B]["classical"] > 0 and ref[SENSOR_B]["hybrid"] > 0,
          f"expected verdicts: {SENSOR_A} {dict(ref[SENSOR_A])}, {SENSOR_B} {dict(ref[SENSOR_B])}")
    con.close()
    for c in cons.values():
        c.close()
    return caps_a, both, t_from, t_to, selections, plain


# --- PostgreSQL dashboard: generated from the SQLite one, same answers ---

def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def load_converter():
    import importlib.util
    spec = importlib.util.spec_from_file_location("inventory_to_postgresql",
                                                  os.path.join(DASH, "inventory-to-postgresql.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def norm(v):
    """A value as both engines print it: numbers as floats (PostgreSQL's
    numeric has more digits), NULL and '' alike (psql's CSV cannot tell),
    comma lists sorted (group_concat(DISTINCT) has no order)."""
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        return round(float(v), 9)
    try:
        return round(float(int(v)), 9)
    except ValueError:
        pass
    try:
        return round(float(v), 9)
    except ValueError:
        return ",".join(sorted(v.split(","))) if "," in v else v


def norm_bag(rows):
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


def check_postgresql(sqlite_d, tmp, caps_a, both, t_from, t_to, selections, plain):
    with open(PG_FILE) as f:
        pgd = json.load(f)
    conv = load_converter()
    check(conv.convert(sqlite_d) == pgd,
          "kexwatch-inventory-postgresql.json is inventory-to-postgresql.py's output for the SQLite dashboard")
    bindir = pg_bindir()
    if not bindir:
        print("skip - PostgreSQL queries: server binaries not installed (Debian: postgresql)")
        return
    top = tempfile.mkdtemp(prefix="kx-dash-pg-")
    as_user = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        pw = pwd.getpwnam("postgres")
        os.chown(top, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port, data = "5498", os.path.join(top, "data")

    def pg(*a):
        p = subprocess.run(as_user + [os.path.join(bindir, a[0]), *a[1:]], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(" ".join(a) + ": " + p.stdout + p.stderr)

    def psql(sql):
        p = subprocess.run([os.path.join(bindir, "psql"), "-X", "-h", top, "-p", port, "-U", "kx", "-d", "kx",
                            "--csv", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip())
        rows = list(csv.reader(io.StringIO(p.stdout)))
        # A row of one NULL is an empty line, which csv reads as [].
        return rows[0], [r or [""] * len(rows[0]) for r in rows[1:]]

    started = False
    try:
        pg("initdb", "-D", data, "-A", "trust", "-U", "kx", "--no-sync")
        pg("pg_ctl", "-D", data, "-l", os.path.join(top, "log"), "-w", "-o",
           f"-k {top} -c listen_addresses='' -p {port} -c fsync=off", "start")
        started = True
        pg("createdb", "-h", top, "-p", port, "-U", "kx", "kx")
        url = f"postgresql://kx@/kx?host={top}&port={port}"
        # As on SQLite: the sessions in a run of their own (in the same run,
        # their minute would time out a ClientHello left open at the end).
        for sensor, cs in ((SENSOR_A, caps_a), (SENSOR_B, CAPS_B)):
            db = os.path.join(tmp, "pg-a.db" if sensor == SENSOR_A else "pg-b.db")
            read_into(db, sensor, cs, "--pg", url)
            read_into(db, sensor, [plain[sensor]], "--pg", url)
        con = sqlite3.connect(f"file:{both}?mode=ro", uri=True)
        want = [[s, str(n)] for s, n in con.execute("SELECT sensor, count(*) FROM handshakes GROUP BY 1 ORDER BY 1")]
        got = psql("SELECT sensor, count(*) FROM handshakes GROUP BY 1 ORDER BY 1")[1]
        check(got == want, f"the central store holds the two sensors' rows: {got}", f"SQLite: {want}")
        want = [[s, str(n)] for s, n in con.execute("SELECT sensor, sum(sessions) FROM sessions GROUP BY 1 ORDER BY 1")]
        got = psql("SELECT sensor, sum(sessions) FROM sessions GROUP BY 1 ORDER BY 1")[1]
        check(got == want and len(want) == 2, f"and their sessions: {got}", f"SQLite: {want}")
        variables = {v["name"]: v for v in pgd["templating"]["list"]}
        cols, rows = psql(variables["sensor"]["query"])
        check([r[0] for r in rows] == selections["All"], f"PostgreSQL: sensor variable query: {rows}")
        pairs = list(zip(sql_targets(sqlite_d), sql_targets(pgd)))
        check(len(pairs) >= 17 and all(p1["id"] == p2["id"] for (p1, _), (p2, _) in pairs),
              f"PostgreSQL dashboard: the same {len(pairs)} panels")
        for (panel, ts), (_, tp) in pairs:
            for sel, values in selections.items():
                s_cols, s_rows = run_sql(con, expand_sql(ts["rawQueryText"], t_from, t_to, values))
                try:
                    p_cols, p_rows = psql(expand_sql(tp["rawSql"], t_from, t_to, values))
                except RuntimeError as e:
                    check(False, f"PostgreSQL: panel {panel['id']} '{panel['title']}' [{sel}]", e)
                    continue
                check(p_cols == s_cols and norm_bag(p_rows) == norm_bag(s_rows),
                      f"PostgreSQL: panel {panel['id']} '{panel['title']}' [{sel}]: the same {len(s_rows)} rows as SQLite",
                      f"columns {s_cols} / {p_cols}\n" + bag_diff(norm_bag(s_rows), norm_bag(p_rows), "SQLite", "PostgreSQL"))
        con.close()
    except RuntimeError as e:
        check(False, "PostgreSQL server for the dashboard queries", e)
    finally:
        if started:
            subprocess.run(as_user + [os.path.join(bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"],
                           capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


# --- Prometheus dashboard against the real exposition ---

def prom_exprs(d):
    for panel in panels_of(d):
        for t in panel.get("targets", []):
            yield panel, t["expr"]


def substitute(expr, sensor=".*"):
    """The expression Grafana sends for the variable's value SENSOR (All is
    the variable's allValue .*; several values are (a|b))."""
    return (expr.replace("$__rate_interval", "5m").replace("$__range", "30m")
            .replace("$__interval", "1m").replace('"$sensor"', json.dumps(sensor)))


def promtool_test(promtool, path, input_series, tests, more=""):
    with open(path, "w") as f:
        f.write("rule_files: []\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
                "    input_series:\n" + "\n".join(input_series) + "\n"
                "    promql_expr_test:\n" + "".join(tests) + more)
    r = subprocess.run([promtool, "test", "rules", path], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def expr_test(expr, samples):
    """One promql_expr_test at 40 minutes; SAMPLES: [(labels, value)]."""
    out = f"      - expr: {json.dumps(expr)}\n        eval_time: 40m\n        exp_samples:"
    if not samples:
        return out + " []\n"
    return out + "\n" + "".join(f"          - labels: {json.dumps(l)}\n            value: {v}\n" for l, v in samples)


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
    variables = {v["name"]: v for v in d["templating"]["list"]}
    sv = variables["sensor"]
    m = re.fullmatch(r"label_values\((kexwatch_\w+), sensor\)", sv["query"]["query"])
    check(m is not None and m.group(1) in names and sv.get("allValue") == ".*" and sv["definition"] == m.group(0),
          f"sensor variable: {sv['query']['query']} over a metric every sensor serves, All = .*")
    # A session whose handshake was not seen is no-verdict ('unknown' is an
    # unregistered code point's word, never a session's).
    unseen = [expr for _, expr in prom_exprs(d) if "kexwatch_sessions_total" in expr
              and "plaintext" not in expr]
    check(unseen and all('verdict="no-verdict"' in e for e in unseen)
          and not any('kexwatch_sessions_total' in e and 'verdict="unknown"' in e for _, e in prom_exprs(d)),
          "the handshake-unseen sessions panel asks for verdict=\"no-verdict\", none for unknown", unseen)
    for panel, expr in prom_exprs(d):
        used = set(re.findall(r"\b(kexwatch_\w+)", expr))
        missing = used - names
        check(not missing, f"panel {panel['id']} '{panel['title']}': metrics exist {sorted(used)}"
              + (f", missing {sorted(missing)}" if missing else ""))
    promtool = shutil.which("promtool")
    if not promtool:
        print("skip - Prometheus expressions: promtool not installed (Debian package prometheus)")
        return
    # Every series of the exposition for two sensors: counters grow by their
    # dumped value (at least 1) each minute, gauges stay at it; sensor b
    # counts twice as fast and its gauges are twice as high.
    dumped = set(re.findall(r'sensor="([^"]*)"', " ".join(s for s, _ in series)))
    check(len(dumped) == 1 and all('sensor="' in s for s, _ in series),
          f"every series of the exposition has the sensor label ({sorted(dumped)})")
    (sensor0,) = dumped or {""}
    lines = []
    for s, v in series:
        step = max(v, 1.0)
        growing = s.split("{")[0].endswith(("_total", "_bucket", "_count", "_sum"))
        for name, k in (("a", 1), ("b", 2)):
            sa = s.replace(f'sensor="{sensor0}"', f'sensor="{name}"')
            lines.append(f"      - series: '{sa}'\n        values: '{0 if growing else k * step:g}+{k * step if growing else 0:g}x60'")
    # A sensor whose deciding handshakes were all classical.
    classical_only = ["      - series: 'kexwatch_handshakes_total{sensor=\"c\",protocol=\"tls\",group=\"x25519\","
                      "verdict=\"classical\",reason=\"client-no-pq\"}'\n        values: '0+1x60'"]
    test = os.path.join(tmp, "test.yml")
    for panel, expr in prom_exprs(d):
        e = substitute(expr)
        rules = os.path.join(tmp, "rules.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n      - record: dashboard:expr\n"
                    f"        expr: {json.dumps(e)}\n")
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
        check(r.returncode == 0, f"panel {panel['id']}: promtool check rules: {e[:70]}"
              + ("" if r.returncode == 0 else " " + r.stdout + r.stderr))
        # An expression that returns samples "fails" against the empty expectation.
        rc, out = promtool_test(promtool, test, lines, [expr_test(e, [])])
        check(rc == 1 and "got:" in out and "got: nil" not in out,
              f"panel {panel['id']} '{panel['title']}': returns samples")
        # The variable: sums over both sensors are 3 times a's; ratios and
        # quantiles are the same (b is a scaled by 2); (a|b) is All; an
        # unknown sensor has nothing.
        ratio = "histogram_quantile" in expr or " / " in expr
        factor = 1 if ratio else 3
        ea, eab, enone = substitute(expr, "a"), substitute(expr, "(a|b)"), substitute(expr, "nosuch")
        tests = [expr_test(f"round(max({e}) / max({ea}), 0.001)", [("{}", factor)]),
                 expr_test(f"round(max({eab}) / max({e}), 0.001)", [("{}", 1)]),
                 expr_test(enone, [])]
        more = ""
        if ratio and 'verdict=~"hybrid|pq"' in expr:
            more = ("  - interval: 1m\n    input_series:\n" + "\n".join(classical_only) + "\n"
                    "    promql_expr_test:\n" + expr_test(f"max({substitute(expr, 'c')})", [("{}", 0)]))
        rc, out = promtool_test(promtool, test, lines, tests, more)
        check(rc == 0, f"panel {panel['id']} '{panel['title']}': sensor variable: All = {factor} x a, "
              f"(a|b) = All, unknown = nothing" + (", only classical = 0" if more else ""), out[-1500:])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        s = check_structure(SQLITE_FILE, "frser-sqlite-datasource")
        check_structure(PG_FILE, "grafana-postgresql-datasource")
        pr = check_structure(PROM_FILE, "prometheus")
        check_postgresql(s, tmp, *check_sqlite(s, tmp))
        check_prometheus(pr, tmp)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


sys.exit(main())
