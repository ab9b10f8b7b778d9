#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Assertions for tests/integration/test_live.sh (kexwatch live in network
namespaces). Each subcommand exits 0 when the check holds, 1 otherwise, and
prints what it saw (lines are shown as TAP diagnostics by the caller).

  count DB                      print the number of handshake rows
  wait-rows DB N SECONDS        wait until DB holds >= N handshake rows
  rows DB SPEC [--optional SPEC] [--json FILE ...] [--client-ip IP]
       [--server-ip IP]         rows equal SPEC exactly (plus any subset of the
                                --optional rows); with --json, the union of the
                                JSON files holds the same events as the DB
  json FILE SPEC [--optional SPEC]
                                the JSON file holds exactly the SPEC events
                                (plus any subset of the --optional ones)
  integrity DB                  PRAGMA integrity_check is 'ok'
  run DB [--finished yes|no] [--ge NAME=V] [--gt NAME=V] [--eq NAME=V]
                                the last runs row; NAME is a runs column or a
                                key of its counters JSON
  metrics FILE [--eq SERIES=V] [--gt SERIES=V] [--absent SERIES]
                                SERIES = name{label="v",...}: the sum of every
                                sample of that name whose labels include those
  creds PID UID GID             every thread: real/effective/saved/fs uid and
                                gid, no supplementary groups beyond GID, no
                                capabilities (inheritable, permitted,
                                effective, ambient)
  nnp PID                       every thread has no_new_privs set
  rss PID                       print VmRSS in KiB
  hwm PID [-v]                  print VmHWM in KiB (-v: and the RSS parts on
                                stderr)
  ring PID                      print the resident KiB of the kernel packet
                                rings (socket mappings)

SPEC: a file with one row per line, whitespace-separated fields
  sni verdict reason group version server_port ch_segments
'-' stands for NULL/empty and '*' for any value; '#' starts a comment.
"""
import json
import os
import re
import sqlite3
import sys
import time

FIELDS = ["sni", "verdict", "reason", "group_name", "version", "server_port", "ch_segments"]
JSON_KEYS = {"sni": "sni", "verdict": "verdict", "reason": "reason", "group_name": "group_name",
             "version": "version", "server_port": "server_port",
             "ch_segments": "ch_segments"}


def die(msg):
    print(msg)
    sys.exit(1)


def connect(db):
    # Read-write (not ?mode=ro): after kill -9 the reader must be able to
    # recover the WAL, exactly as the next kexwatch run would.
    con = sqlite3.connect(db, timeout=10)
    con.row_factory = sqlite3.Row
    return con


def count(db):
    try:
        con = connect(db)
        try:
            return con.execute("SELECT count(*) FROM handshakes").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def norm(v):
    if v is None or v == "":
        return "-"
    return str(v)


def load_spec(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != len(FIELDS):
                die(f"bad spec line in {path}: {line!r}")
            rows.append(parts)
    return rows


def matches(spec, got):
    return all(s == "*" or s == g for s, g in zip(spec, got))


def match_rows(expected, optional, got, what):
    """Every expected row matched by a distinct got row; leftovers may only
    match optional rows. Returns a list of problems."""
    left = list(got)
    problems = []
    for e in expected:
        for i, g in enumerate(left):
            if matches(e, g):
                del left[i]
                break
        else:
            problems.append(f"{what}: missing row {' '.join(e)}")
    opt = list(optional)
    for g in left:
        for i, o in enumerate(opt):
            if matches(o, g):
                del opt[i]
                break
        else:
            problems.append(f"{what}: unexpected row {' '.join(g)}")
    return problems


def db_rows(db):
    con = connect(db)
    try:
        return [dict(r) for r in con.execute("SELECT * FROM handshakes ORDER BY id")]
    finally:
        con.close()


def json_events(paths):
    ev = []
    for p in paths:
        with open(p) as f:
            for n, line in enumerate(f, 1):
                if not line.endswith("\n"):
                    die(f"{p}:{n}: last line not terminated")
                try:
                    e = json.loads(line)
                except ValueError as e:
                    die(f"{p}:{n}: not JSON: {e}: {line[:200]!r}")
                if e.get("event_type") != "run":  # the run's start and end
                    ev.append(e)
    return ev


def show(rows):
    for r in rows:
        print("  got: " + " ".join(r))


def cmd_rows(args):
    db, spec = args[0], args[1]
    optional, jsons, client_ip, server_ip = [], [], None, None
    i = 2
    while i < len(args):
        if args[i] == "--optional":
            optional = load_spec(args[i + 1])
        elif args[i] == "--json":
            jsons.append(args[i + 1])
        elif args[i] == "--client-ip":
            client_ip = args[i + 1]
        elif args[i] == "--server-ip":
            server_ip = args[i + 1]
        else:
            die(f"unknown option {args[i]}")
        i += 2
    rows = db_rows(db)
    got = [[norm(r[k]) for k in FIELDS] for r in rows]
    problems = match_rows(load_spec(spec), optional, got, "db")
    for r in rows:
        if r["protocol"] != "tls" or r["transport"] != "tcp" or r["ip_version"] != 4:
            problems.append(f"row {r['id']}: protocol/transport/ip_version "
                            f"{r['protocol']}/{r['transport']}/{r['ip_version']}")
        if client_ip and r["client_ip"] != client_ip:
            problems.append(f"row {r['id']}: client_ip {r['client_ip']}")
        if server_ip and r["server_ip"] != server_ip:
            problems.append(f"row {r['id']}: server_ip {r['server_ip']}")
    if jsons:
        ev = json_events(jsons)

        def jkey(e):
            return (e["ts_first"], e["client_ip"], e["client_port"], e["server_ip"], e["server_port"],
                    norm(e["sni"]), e["verdict"], norm(e["reason"]), norm(e["group_name"]))

        def dkey(r):
            return (r["ts_first"], r["client_ip"], r["client_port"], r["server_ip"],
                    r["server_port"], norm(r["sni"]), r["verdict"], norm(r["reason"]),
                    norm(r["group_name"]))
        jk = sorted(map(jkey, ev))
        dk = sorted(map(dkey, rows))
        if jk != dk:
            problems.append(f"json events ({len(jk)}) differ from db rows ({len(dk)})")
            for k in sorted(set(jk) - set(dk)):
                problems.append(f"  only in json: {k}")
            for k in sorted(set(dk) - set(jk)):
                problems.append(f"  only in db: {k}")
    print(f"{len(rows)} rows")
    if problems:
        show(got)
        die("\n".join(problems))


def cmd_json(args):
    path, spec = args[0], args[1]
    optional = load_spec(args[3]) if args[2:3] == ["--optional"] else []
    ev = json_events([path])
    got = [[norm(e.get(JSON_KEYS[k])) for k in FIELDS] for e in ev]
    problems = match_rows(load_spec(spec), optional, got, path)
    print(f"{len(ev)} events")
    if problems:
        show(got)
        die("\n".join(problems))


def cmd_integrity(args):
    con = connect(args[0])
    try:
        res = [r[0] for r in con.execute("PRAGMA integrity_check")]
    finally:
        con.close()
    print("integrity_check: " + "; ".join(res))
    if res != ["ok"]:
        sys.exit(1)


def cmd_run(args):
    db = args[0]
    con = connect(db)
    try:
        r = con.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    finally:
        con.close()
    if r is None:
        die("no runs row")
    r = dict(r)
    counters = json.loads(r["counters"]) if r.get("counters") else {}
    vals = dict(counters)
    vals.update({k: v for k, v in r.items() if k != "counters"})
    problems = []
    i = 1
    shown = {"id", "finished", "packets", "handshakes", "flows", "flows_evicted"}
    while i < len(args):
        opt, arg = args[i], args[i + 1]
        i += 2
        if opt == "--finished":
            fin = r["finished"] is not None and r["finished_us"] is not None
            if fin != (arg == "yes"):
                problems.append(f"finished = {r['finished']!r}, wanted {arg}")
            continue
        name, want = arg.split("=", 1)
        shown.add(name)
        if name not in vals:
            problems.append(f"{name}: not in the runs row or its counters")
            continue
        got = vals[name]
        ok = {"--eq": lambda: got == int(want), "--ge": lambda: got is not None and got >= int(want),
              "--gt": lambda: got is not None and got > int(want)}[opt]()
        if not ok:
            problems.append(f"{name} = {got}, wanted {opt[2:]} {want}")
    print("run: " + ", ".join(f"{k}={vals.get(k)}" for k in sorted(shown)))
    if problems:
        die("\n".join(problems))


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_series(s):
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?$', s)
    if not m:
        die(f"bad series {s!r}")
    return m.group(1), dict(LABEL.findall(m.group(3) or ""))


def cmd_metrics(args):
    with open(args[0]) as f:
        text = f.read()
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            die(f"unparsable sample line: {line!r}")
        samples.append((m.group(1), dict(LABEL.findall(m.group(3) or "")), float(m.group(4))))

    def total(series):
        name, want = parse_series(series)
        vals = [v for n, lab, v in samples
                if n == name and all(lab.get(k) == w for k, w in want.items())]
        return (sum(vals) if vals else None), len(vals)

    problems, seen = [], []
    i = 1
    while i < len(args):
        opt, arg = args[i], args[i + 1]
        i += 2
        if opt == "--absent":
            v, n = total(arg)
            seen.append(f"{arg}: {n} samples")
            if n:
                problems.append(f"{arg}: present ({v})")
            continue
        series, want = arg.rsplit("=", 1)
        v, n = total(series)
        seen.append(f"{series} = {v}")
        if v is None:
            problems.append(f"{series}: no sample")
        elif opt == "--eq" and v != float(want):
            problems.append(f"{series} = {v}, wanted {want}")
        elif opt == "--gt" and not v > float(want):
            problems.append(f"{series} = {v}, wanted > {want}")
    print("; ".join(seen))
    if problems:
        die("\n".join(problems))


def status_fields(path):
    d = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            d[k] = v.strip()
    return d


def cmd_creds(args):
    pid, uid, gid = args
    problems = []
    tasks = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
    for t in tasks:
        st = status_fields(f"/proc/{pid}/task/{t}/status")
        name = f"task {t} ({st.get('Name')})"
        if st["Uid"].split() != [uid] * 4:
            problems.append(f"{name}: Uid {st['Uid']}")
        if st["Gid"].split() != [gid] * 4:
            problems.append(f"{name}: Gid {st['Gid']}")
        if any(g != gid for g in st.get("Groups", "").split()):
            problems.append(f"{name}: Groups {st['Groups']}")
        for cap in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
            if int(st.get(cap, "0"), 16) != 0:
                problems.append(f"{name}: {cap} {st[cap]}")
    st = status_fields(f"/proc/{pid}/status")
    print(f"{len(tasks)} threads; Uid {st['Uid']}; Gid {st['Gid']}; Groups {st.get('Groups')!r}; "
          f"CapEff {st['CapEff']}; CapPrm {st['CapPrm']}; NoNewPrivs {st.get('NoNewPrivs')}")
    if problems:
        die("\n".join(problems))


def cmd_nnp(args):
    pid = args[0]
    problems = []
    tasks = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
    for t in tasks:
        st = status_fields(f"/proc/{pid}/task/{t}/status")
        if st.get("NoNewPrivs") != "1":
            problems.append(f"task {t} ({st.get('Name')}): NoNewPrivs {st.get('NoNewPrivs')}")
    print(f"{len(tasks)} threads, {len(tasks) - len(problems)} with NoNewPrivs 1")
    if problems:
        die("\n".join(problems))


def cmd_rss(args):
    st = status_fields(f"/proc/{args[0]}/status")
    print(int(st["VmRSS"].split()[0]))


def cmd_ring(args):
    """Resident KiB of the kernel packet rings (TPACKET mappings, "socket:[N]"
    in smaps): sized by --buffer-size, not by kexwatch's own allocations."""
    kib, name = 0, None
    with open(f"/proc/{args[0]}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                name = parts[5] if len(parts) > 5 else ""
            elif line.startswith("Rss:") and name and name.startswith("socket:"):
                kib += int(line.split()[1])
    print(kib)


def cmd_hwm(args):
    st = status_fields(f"/proc/{args[0]}/status")
    print(int(st["VmHWM"].split()[0]))
    if args[1:2] == ["-v"]:
        print(", ".join(f"{k} {st.get(k)}" for k in
                        ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem", "VmSize")),
              file=sys.stderr)


def main():
    if len(sys.argv) < 3:
        die(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "count":
        print(count(args[0]))
    elif cmd == "wait-rows":
        db, n, secs = args[0], int(args[1]), float(args[2])
        end = time.monotonic() + secs
        while True:
            c = count(db)
            if c >= n or time.monotonic() > end:
                break
            time.sleep(0.1)
        print(f"{c} rows (waited for {n})")
        sys.exit(0 if c >= n else 1)
    elif cmd == "rows":
        cmd_rows(args)
    elif cmd == "json":
        cmd_json(args)
    elif cmd == "integrity":
        cmd_integrity(args)
    elif cmd == "run":
        cmd_run(args)
    elif cmd == "metrics":
        cmd_metrics(args)
    elif cmd == "creds":
        cmd_creds(args)
    elif cmd == "nnp":
        cmd_nnp(args)
    elif cmd == "rss":
        cmd_rss(args)
    elif cmd == "hwm":
        cmd_hwm(args)
    elif cmd == "ring":
        cmd_ring(args)
    else:
        die(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
