#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`kexwatch changes` on two real captures (contrib/pcapgen/regression.sh):
before.pcap (yesterday: both endpoints hybrid, the client offers PQ) and
after.pcap (shifted a day: s1.kx.test:443 restarted with a classical group
list, the client stops offering PQ to s2.kx.test:8443). Exactly two things
got worse; the evidence is checked against the capture itself (packet N is
that ClientHello, its time is first_seen), then the reverse comparison
finds them better, and the exit statuses.

usage: test_changes.py KEXWATCH DATA_DIR"""
import json
import os
import struct
import subprocess
import sys
import tempfile

KW, DATA = sys.argv[1], sys.argv[2]
BEFORE = os.path.join(DATA, "before.pcap")
AFTER = os.path.join(DATA, "after.pcap")
X25519MLKEM768 = b"\x11\xec"
failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures += 1


def kw(*args):
    return subprocess.run([KW, *args], capture_output=True, text=True, timeout=60)


def packets(path):
    """(ts_us, frame) of every record of a classic pcap (microseconds)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B2C3D4, "little-endian microsecond pcap expected"
    off, out = 24, []
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 1000000 + usec, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def tcp_payload(frame):
    """(dst_ip, dst_port, payload) of an Ethernet/IPv4/TCP frame."""
    if frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ihl = (frame[14] & 15) * 4
    tcp = frame[14 + ihl:]
    doff = (tcp[12] >> 4) * 4
    dst = ".".join(str(b) for b in frame[30:34])
    return dst, struct.unpack(">H", tcp[2:4])[0], tcp[doff:]


def rfc3339(us):
    import datetime
    t = datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 1000000)


def evidence_ok(line, port, offers_pq):
    """Packet evidence_packet of the capture is a ClientHello to port that does
    (not) offer X25519MLKEM768, sent at first_seen."""
    pk = packets(line["evidence_source"])
    n = line["evidence_packet"]
    ts, frame = pk[n - 1]
    p = tcp_payload(frame)
    return (p is not None and p[0] == "198.18.0.20" and p[1] == port and
            p[2][:1] == b"\x16" and p[2][5:6] == b"\x01" and
            (X25519MLKEM768 in p[2]) == offers_pq and line["first_seen"] == rfc3339(ts))


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "kx.db")
    r = kw("read", "--db", db, "--sensor", "s", BEFORE, AFTER)
    check(r.returncode == 0, "read both captures (%s)" % r.stderr.strip()[:200])
    day1, day2, day3 = "2026-12-06", "2026-12-07", "2026-12-08"
    base = ["--db", db, "--since", day2, "--until", day3, "--baseline", "1d"]

    r = kw("changes", *base, "--json")
    check(r.returncode == 1, "something got worse: exit 1 (got %d: %s)" % (r.returncode, r.stderr))
    lines = json.loads(r.stdout) if r.stdout.startswith("[") else []
    got = [(l["direction"], l["change"], l["subject"], l["server_ip"], l["server_port"], l["sni"],
            l["client_ip"], l["before_good"], l["before_bad"], l["after_good"], l["after_bad"])
           for l in lines]
    want = [("worse", "hybrid-to-classical", "endpoint", "198.18.0.20", 443, "s1.kx.test", None,
             2, 0, 0, 2),
            ("worse", "pq-offer-dropped", "client", None, None, None, "198.18.0.10", 4, 0, 2, 2)]
    check(got == want, "exactly the two regressions: %s" % got)
    if len(lines) == 2:
        check(lines[0]["evidence_source"] == AFTER and lines[0]["evidence_packet"] == 4,
              "hybrid-to-classical evidence after.pcap packet 4: %s" % lines[0]["evidence"])
        check(evidence_ok(lines[0], 443, True),
              "packet %d is the first ClientHello to :443 offering PQ, at first_seen"
              % lines[0]["evidence_packet"])
        check(evidence_ok(lines[1], 8443, False),
              "packet %d is the first ClientHello without PQ, at first_seen"
              % lines[1]["evidence_packet"])

    # The same as a table and as CSV; an explicit baseline gives the same.
    r = kw("changes", *base)
    rows = r.stdout.splitlines()
    check(r.returncode == 1 and len(rows) == 3 and rows[1].split()[:2] == ["worse", "hybrid-to-classical"],
          "table: header and two lines")
    r = kw("changes", "--db", db, "--since", day2, "--until", day3,
           "--baseline-since", day1, "--baseline-until", day2, "--csv")
    check(r.returncode == 1 and len(r.stdout.splitlines()) == 3 and
          r.stdout.startswith("direction,change,subject,"), "CSV with an explicit baseline")

    # Grouped by server IP and by pair: the endpoint line keeps its keys.
    r = kw("changes", *base, "--json", "--group-by", "pair")
    pl = json.loads(r.stdout) if r.stdout.startswith("[") else []
    check([(l["change"], l["server_ip"], l["client_ip"]) for l in pl if l["subject"] == "endpoint"] ==
          [("hybrid-to-classical", "198.18.0.20", "198.18.0.10")],
          "by pair: 198.18.0.10 -> 198.18.0.20 newly declined")
    r = kw("changes", *base, "--json", "--group-by", "sni")
    sl = json.loads(r.stdout) if r.stdout.startswith("[") else []
    check([(l["change"], l["sni"]) for l in sl if l["subject"] == "endpoint"] ==
          [("hybrid-to-classical", "s1.kx.test")], "by SNI")

    # The HTML report's "What changed": its last day against the 30 before.
    html = os.path.join(tmp, "r.html")
    r = kw("report", "--db", db, "--html", html)
    import re
    sec = ""
    if r.returncode == 0:
        m = re.search(r'<section class="panel" id="kx-changes">.*?</section>', open(html).read(), re.S)
        sec = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", m.group(0))) if m else ""
    rows = re.findall(r"(worse|better) (\S+) (.+?) (\d+) (\d+) (\d+) (\d+) (\S+ \S+) (\S+) ", sec)
    check(rows == [("worse", "hybrid-to-classical", "198.18.0.20:443 s1.kx.test", "2", "0", "0", "2",
                    "2026-12-07 18:10:00", AFTER + ":4"),
                   ("worse", "pq-offer-dropped", "client 198.18.0.10", "4", "0", "2", "2",
                    "2026-12-07 18:10:01", AFTER + ":36")],
          "HTML report: What changed lists both: %s" % rows)

    # Reversed: yesterday against today is an improvement; exit 0.
    r = kw("changes", "--db", db, "--since", day1, "--until", day2,
           "--baseline-since", day2, "--baseline-until", day3, "--json")
    check(r.returncode == 2, "a baseline after the window is a usage error")
    # Nothing in the baseline before the first capture: no change at all.
    r = kw("changes", "--db", db, "--since", day1, "--until", day2, "--baseline", "1d", "--json")
    check(r.returncode == 0 and json.loads(r.stdout) == [],
          "first day against an empty baseline: new subjects are hybrid, exit 0")

    # Better: the after capture first, then the before one a day later.
    db2 = os.path.join(tmp, "rev.db")
    shifted = os.path.join(tmp, "before-later.pcap")
    with open(BEFORE, "rb") as f:
        data = bytearray(f.read())
    off = 24
    while off + 16 <= len(data):  # +2 days: the before handshakes now come last
        sec = struct.unpack_from("<I", data, off)[0]
        struct.pack_into("<I", data, off, sec + 2 * 86400)
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    with open(shifted, "wb") as f:
        f.write(data)
    kw("read", "--db", db2, "--sensor", "s", AFTER, shifted)
    r = kw("changes", "--db", db2, "--since", day3, "--until", "2026-12-09", "--baseline", "1d",
           "--json")
    bl = json.loads(r.stdout) if r.stdout.startswith("[") else []
    check(r.returncode == 0, "only improvements: exit 0 (got %d)" % r.returncode)
    check([(l["direction"], l["change"], l["subject"], l["after_good"], l["after_bad"]) for l in bl] ==
          [("better", "hybrid-to-classical", "endpoint", 2, 0),
           ("better", "pq-offer-dropped", "client", 4, 0)], "the two improvements: %s" %
          [(l["direction"], l["change"]) for l in bl])
    if len(bl) == 2:
        check(bl[0]["evidence_source"] == shifted and bl[0]["evidence_packet"] == 4,
              "improvement evidence: the first hybrid handshake (packet 4)")

    for args in (["--baseline", "x"], ["--group-by", "nope"], ["--baseline", "1d",
                 "--baseline-since", day1], ["stray"]):
        r = kw("changes", "--db", db, *args)
        check(r.returncode == 2, "usage error %s: exit 2" % args)
    r = kw("changes", "--db", os.path.join(tmp, "missing.db"))
    check(r.returncode == 3 and "missing.db" in r.stderr, "missing database: exit 3")
    with open(os.path.join(tmp, "junk.db"), "wb") as f:
        f.write(b"not a database" * 100)
    r = kw("changes", "--db", os.path.join(tmp, "junk.db"))
    check(r.returncode == 3, "not a database: exit 3")

sys.exit(1 if failures else 0)
