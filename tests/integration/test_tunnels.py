#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The real binary on the tunnel and IP-fragment captures: the run's tunnel
and reassembly counters (runs.counters) must be exactly what the captures
hold, the summary must say so, and the --defrag-* options must work and be
validated. (The rows themselves are checked per capture by check_capture.py.)

usage: test_tunnels.py KEXWATCH PCAPS_DIR"""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

KW, PCAPS = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures += 1


def read(tmp, caps, *opts):
    """rows, counters, stdout+stderr of one `kexwatch read` into a new database"""
    db = os.path.join(tmp, "t.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    p = subprocess.run([KW, "read", "--db", db, "--sensor", "t", *opts,
                        *(os.path.join(PCAPS, c) for c in caps)], capture_output=True, text=True)
    if p.returncode != 0:
        return None, None, p.stdout + p.stderr
    con = sqlite3.connect(db)
    rows = con.execute("SELECT verdict, ifnull(reason, '') FROM handshakes ORDER BY pkt_first_ch").fetchall()
    counters = json.loads(con.execute("SELECT counters FROM runs").fetchone()[0])
    con.close()
    return rows, counters, p.stdout + p.stderr


# capture -> (packets, IP fragments, datagrams reassembled, packets decapsulated), by tcpdump -n:
# the router's 3 fragments of one ClientHello segment; Chromium's 2 Initials as 2 fragments
# each; the 2 outer VXLAN datagrams split in 2; 18 GRE packets plus 8 more carrying 3
# fragments (26); two tenants' 40 VXLAN packets beside 2 underlay ARPs.
COUNTS = {
    "frag-ipv4-router.pcap": (28, 3, 1, 0),
    "frag-ipv4-reordered.pcap": (28, 3, 1, 0),
    "frag-ipv6-quic.pcap": (37, 4, 2, 0),
    "frag-vxlan-outer.pcap": (24, 4, 2, 20),
    "frag-in-gre.pcap": (28, 3, 1, 26),
    "tunnel-vxlan-2tenants.pcap": (42, 0, 0, 40),
    "tunnel-mpls.pcap": (18, 0, 0, 18),
    "tunnel-pppoe.pcap": (18, 0, 0, 18),
}

with tempfile.TemporaryDirectory() as tmp:
    for cap, (pkts, frags, dgrams, tun) in COUNTS.items():
        rows, c, out = read(tmp, [cap])
        if c is None:
            check(False, f"{cap}: kexwatch read failed: {out}")
            continue
        got = (c["packets"], c["defrag_fragments"], c["defrag_reassembled"], c["pkt_tunneled"])
        check(got == (pkts, frags, dgrams, tun),
              f"{cap}: packets, fragments, datagrams, tunnelled {got} == {(pkts, frags, dgrams, tun)}")
        bad = {k: v for k, v in c.items()
               if v and (k.startswith("skip_") or k in ("defrag_incomplete", "defrag_memcap_drops",
                                                        "defrag_too_big", "defrag_malformed",
                                                        "defrag_duplicates", "defrag_overlaps",
                                                        "defrag_overlap_conflicts", "defrag_ip6_overlaps"))}
        check(not bad, f"{cap}: nothing skipped, dropped or overlapping ({bad})")
        check(len(rows) == (2 if "2tenants" in cap else 1), f"{cap}: {len(rows)} rows")
        if tun:
            check(f"tunnels: {tun} packets decapsulated" in out, f"{cap}: summary names the tunnelled packets")
        if frags:
            check(f"IP fragments: {frags} taken, {dgrams} datagrams reassembled, 0 never completed" in out,
                  f"{cap}: summary names the fragments")

    # All fragment captures in one run: the counts add up, nothing left over.
    caps = [c for c in COUNTS if c.startswith("frag-")]
    rows, c, out = read(tmp, caps)
    check(c is not None and (c["defrag_fragments"], c["defrag_reassembled"], c["defrag_incomplete"]) ==
          (17, 7, 0) and len(rows) == 5, f"five fragment captures in one run: 17 fragments, 7 datagrams, 5 rows")

    # --defrag-memcap 0: no reassembly. The ClientHello's first segment is
    # lost with its fragments: only the server's choice is left, a
    # ServerHello-alone row (hybrid, the ClientHello not seen).
    rows, c, out = read(tmp, ["frag-ipv4-router.pcap"], "--defrag-memcap", "0")
    check(c is not None and c["skip_ip_fragment"] == 3 and c["defrag_fragments"] == 0 and
          c["tls_orphan_server"] == 1 and rows == [("hybrid", "")],
          f"--defrag-memcap 0: 3 fragments skipped, the ServerHello alone makes the row ({rows})")
    check("3 fragments" in out and "3 IP fragments not reassembled" in out,
          "--defrag-memcap 0: the summary and the ledger count the skipped fragments")

    # One datagram at a time is enough for fragments that come in order.
    rows, c, out = read(tmp, ["frag-ipv6-quic.pcap"], "--defrag-max-datagrams", "1", "--defrag-timeout", "1")
    check(c is not None and c["defrag_reassembled"] == 2 and c["defrag_memcap_drops"] == 0 and
          rows == [("classical", "server-declined")],
          "--defrag-max-datagrams 1 --defrag-timeout 1: both Initials reassembled")

    # Floods of first fragments that never complete, each of its own datagram:
    # 200 000 at once overflow --defrag-max-datagrams (the oldest go, counted;
    # the last 1024 are left at the end), and 20 000 spread over 200 s each
    # time out 1 s after they came (--defrag-timeout 1). Memory stays bounded.
    def flood(path, n, step_us):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
            for i in range(n):
                ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 36, i & 0xffff, 0x2000, 64, 6, 0,
                                           bytes([10, 9, i >> 24 & 255, i >> 16 & 255]), bytes([10, 0, 0, 2])))
                frame = b"\x02" * 12 + b"\x08\x00" + bytes(ip) + b"\x16" * 16
                t = 1700000000 * 1000000 + i * step_us
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)) + frame)

    def peak_rss(cmd):
        """exit status and peak RSS (KiB) of this one run; meson's random
        MALLOC_PERTURB_ would fill (so make resident) what is only reserved"""
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, MALLOC_PERTURB_="0"))
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc, ru.ru_maxrss

    fl = os.path.join(tmp, "flood.pcap")
    flood(fl, 200000, 1)
    db = os.path.join(tmp, "flood.db")
    p, rss = peak_rss([KW, "read", "--db", db, "--sensor", "t", fl])
    c = json.loads(sqlite3.connect(db).execute("SELECT counters FROM runs").fetchone()[0])
    check(p.returncode == 0 and (c["defrag_fragments"], c["defrag_memcap_drops"], c["defrag_incomplete"],
                                 c["defrag_reassembled"]) == (200000, 200000 - 1024, 1024, 0),
          f"200 000 lone first fragments: {c['defrag_memcap_drops']} dropped for room, "
          f"{c['defrag_incomplete']} left incomplete")
    if "libasan" in subprocess.run(["ldd", KW], capture_output=True, text=True).stdout:
        print(f"# SKIP peak RSS {rss} KiB < 64 MiB: sanitizer build (shadow memory)")
    else:
        check(rss < 64 * 1024, f"200 000 lone first fragments: peak RSS of the run {rss} KiB < 64 MiB")
    fl2 = os.path.join(tmp, "slow.pcap")
    flood(fl2, 20000, 10000)
    db2 = os.path.join(tmp, "slow.db")
    p = subprocess.run([KW, "read", "--db", db2, "--sensor", "t", "--defrag-timeout", "1", fl2],
                       capture_output=True, text=True)
    c = json.loads(sqlite3.connect(db2).execute("SELECT counters FROM runs").fetchone()[0])
    check(p.returncode == 0 and (c["defrag_incomplete"], c["defrag_memcap_drops"]) == (20000, 0),
          f"20 000 lone fragments over 200 s, --defrag-timeout 1: all {c['defrag_incomplete']} "
          f"timed out, none dropped for room ({c['defrag_memcap_drops']})")

    for opt, val in (("--defrag-memcap", "x"), ("--defrag-memcap", "70000"),
                     ("--defrag-max-datagrams", "0"), ("--defrag-timeout", "0")):
        p = subprocess.run([KW, "read", "--no-db", "--json", "-", opt, val,
                            os.path.join(PCAPS, "frag-ipv4-router.pcap")], capture_output=True, text=True)
        check(p.returncode == 2 and opt in p.stderr, f"{opt} {val}: usage error naming the option")
    p = subprocess.run([KW, "read", "--help"], capture_output=True, text=True)
    help_text = p.stdout + p.stderr
    check(all(o in help_text for o in ("--defrag-memcap", "--defrag-max-datagrams", "--defrag-timeout")),
          "read --help lists the --defrag-* options")
    p = subprocess.run([KW, "live", "--help"], capture_output=True, text=True)
    check("--defrag-memcap" in p.stdout + p.stderr, "live --help lists them too")

print(f"{failures} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
