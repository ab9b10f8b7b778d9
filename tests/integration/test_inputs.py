#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Inputs (issue 20): real captures converted at test time.

- a pcapng whose interfaces have different link types (Ethernet, Linux SLL,
  SLL2, raw IP), as mergecap and `dumpcap -i any -i eth0` write: every
  packet decoded with its interface's link type, the interface's if_name in
  each row (SQLite `interface`) and JSON event; libpcap refuses the file;
- gzip, xz and zstd versions of bundled captures, on files and on standard
  input, judged by magic number (names that lie): the same rows as the
  uncompressed originals; a compressed stream cut short or corrupt;
- exit codes: a capture cut mid-packet gives exit 0 and the same warning
  whatever the reader (own, --libpcap, stdin, pcapng, gzip); a bad BPF
  filter exits 2 without a database or a runs row; a run that read nothing
  leaves no runs row; --pg to a server that does not answer warns at once
  and keeps the rows in the outbox (exit 0).
Needs mergecap and editcap (Debian's wireshark-common), gzip, xz, zstd."""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

KX, PCAPS = sys.argv[1], sys.argv[2]
GEN = sys.argv[3] if len(sys.argv) > 3 else None  # tests/bench/gen_capture
failures = []


def check(cond, what, detail=""):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)
        if detail:
            print("# " + str(detail).replace("\n", "\n# "))


def run(args, stdin=None, timeout=120):
    return subprocess.run([KX, *args], capture_output=True, timeout=timeout,
                          stdin=stdin if stdin is not None else subprocess.DEVNULL)


def tool(*args):
    subprocess.run(args, check=True, capture_output=True)


def cap(name):
    return os.path.join(PCAPS, name)


# Packet numbers are the merged file's in the mixed capture: compared apart.
ROW_MIXED = ("client_ip, client_port, server_ip, server_port, sni, protocol, version, group_name,"
             " verdict, reason, ch_bytes, ts_first_us")
ROW = ("client_ip, client_port, server_ip, server_port, sni, protocol, version, group_name,"
       " verdict, reason, ch_bytes, pkt_first_ch, pkt_sh, ts_first_us")


def rows(db, cols=ROW):
    con = sqlite3.connect(db)
    r = con.execute(f"SELECT {cols} FROM handshakes ORDER BY ts_first_us, client_port").fetchall()
    con.close()
    return r


def done_rows(r):
    """Rows of a cut input but the one whose packets ran out (incomplete)."""
    return set(x for x in r if x[1] != "incomplete")


def runs(db):
    if not os.path.exists(db):
        return []
    con = sqlite3.connect(db)
    r = con.execute("SELECT id, counters FROM runs ORDER BY id").fetchall()
    con.close()
    return [(i, json.loads(c) if c else None) for i, c in r]


def blocks(path):
    """The blocks of a little-endian pcapng, as bytes."""
    d, o, out = open(path, "rb").read(), 0, []
    while o + 12 <= len(d):
        ln = struct.unpack_from("<I", d, o + 4)[0]
        out.append(d[o:o + ln])
        o += ln
    return out


def max_rss_kb(args, stdin=None):
    """Exit status and peak RSS (KiB) of one kexwatch run."""
    p = subprocess.Popen([KX, *args], stdin=stdin or subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_maxrss


def name_interfaces(src, dst, names):
    """Adds an if_name option to each Interface Description Block of a
    little-endian pcapng (what editcap/mergecap write), in order."""
    d, out, o, k = open(src, "rb").read(), bytearray(), 0, 0
    while o + 12 <= len(d):
        t, ln = struct.unpack_from("<II", d, o)
        blk = d[o:o + ln]
        if t == 1:
            body, opts, p = blk[8:16], b"", 16
            while p + 4 <= ln - 4:
                code, olen = struct.unpack_from("<HH", blk, p)
                if code == 0:
                    break
                opts += blk[p:p + 4 + olen + (-olen % 4)]
                p += 4 + olen + (-olen % 4)
            nm = names[k].encode()
            opts += struct.pack("<HH", 2, len(nm)) + nm + b"\0" * (-len(nm) % 4)
            opts += struct.pack("<HH", 0, 0)
            new = body + opts
            blk = struct.pack("<II", 1, 12 + len(new)) + new + struct.pack("<I", 12 + len(new))
            k += 1
        out += blk
        o += ln
    open(dst, "wb").write(out)
    return k


def main():
    for t in ("mergecap", "editcap", "gzip", "xz", "zstd"):
        if not shutil.which(t):
            print(f"not ok - {t} is installed (contrib/install-deps.sh)")
            return 1
    tmp = tempfile.mkdtemp(prefix="kx-inputs-")
    try:
        return body(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(tmp):
    def db(name):
        return os.path.join(tmp, name + ".db")

    def t(name):
        return os.path.join(tmp, name)

    # --- pcapng with interfaces of four link types ---
    parts = [("tls13-mlkem768.pcap", "eth0"), ("tls13-sll.pcap", "any"),
             ("tls13-ipv6-raw.pcap", "tun0"), ("tls13-sll2.pcap", "lo")]
    ngs = []
    for f, _ in parts:
        ngs.append(t(f + "ng"))
        tool("editcap", "-F", "pcapng", cap(f), ngs[-1])
    tool("mergecap", "-F", "pcapng", "-w", t("merged-raw.pcapng"), *ngs)
    n_if = name_interfaces(t("merged-raw.pcapng"), t("mixed.pcapng"), [n for _, n in parts])
    check(n_if == 4, "mergecap wrote four interfaces", n_if)

    want, want_if = [], []
    for i, (f, name) in enumerate(parts):
        p = run(["read", "-q", "--db", db(f"part{i}"), cap(f)])
        r = rows(db(f"part{i}"), ROW_MIXED)
        check(p.returncode == 0 and len(r) == 1, f"{f} alone: one row", p.stderr)
        want += r
        want_if += [(r[0][0], r[0][1], name)]
    want.sort(key=lambda x: (x[-1], x[1]))
    p = run(["read", "--db", db("mixed"), t("mixed.pcapng")])
    got = rows(db("mixed"), ROW_MIXED)
    check(p.returncode == 0 and got == want,
          "mixed link types: the rows of the four captures read alone", (p.stderr, got, want))
    check([(g[0], g[7], g[8]) for g in got] ==
          [("198.18.0.10", "MLKEM768", "pq"), ("fd00:6b78::10", "X25519MLKEM768", "hybrid"),
           ("198.18.0.10", "X25519MLKEM768", "hybrid"), ("198.18.0.10", "X25519MLKEM768", "hybrid")],
          "mixed link types: exact groups and verdicts", got)
    gi = rows(db("mixed"), "client_ip, client_port, interface")
    check(sorted(gi) == sorted(want_if)
          and [x[2] for x in gi] == ["eth0", "tun0", "any", "lo"],
          "each row names its interface (eth0, tun0, any, lo)", gi)
    c = runs(db("mixed"))[-1][1]
    check(c["packets"] == sum(int(subprocess.run(["capinfos", "-c", "-M", cap(f)], capture_output=True,
                                                 text=True).stdout.split()[-1]) for f, _ in parts)
          if shutil.which("capinfos") else True,
          "every packet of every interface read", c.get("packets"))
    p = run(["read", "-q", "--no-db", "--json", "-", t("mixed.pcapng")])
    ev = [json.loads(x) for x in p.stdout.decode().splitlines()]
    ev = [(e["client_port"], e["interface"]) for e in ev if e["event_type"] == "handshake"]
    check(p.returncode == 0 and sorted(ev) == sorted((x[1], x[2]) for x in want_if),
          "JSON events name the interface", ev)
    p = run(["read", "-q", "--libpcap", "--db", db("mixed-libpcap"), t("mixed.pcapng")])
    check(p.returncode == 1 and b"different from the type" in p.stderr,
          "libpcap refuses the file (why kexwatch reads pcapng itself)", p.stderr)
    # A plain pcap names no interface; a single-link pcapng reads as libpcap reads it.
    run(["read", "-q", "--db", db("plain"), cap("tls13-x25519mlkem768.pcap")])
    check(rows(db("plain"), "interface") == [(None,)], "a classic pcap: interface NULL")
    run(["read", "-q", "--db", db("ng-own"), cap("tls13-x25519mlkem768.pcapng")])
    run(["read", "-q", "--libpcap", "--db", db("ng-lib"), cap("tls13-x25519mlkem768.pcapng")])
    check(rows(db("ng-own")) == rows(db("ng-lib")) and len(rows(db("ng-own"))) == 1,
          "bundled pcapng: own reader = libpcap")

    # A corrupt stretch between two blocks: counted, resynchronised, the same rows.
    b = blocks(t("mixed.pcapng"))
    junk = b"\x06\x00\x00\x00" + b"\xee" * 33  # an EPB type, then no valid length
    open(t("junk.pcapng"), "wb").write(b"".join(b[:12]) + junk + b"".join(b[12:]))
    p = run(["read", "-q", "--db", db("junk"), t("junk.pcapng")])
    c = runs(db("junk"))[-1][1]
    check(p.returncode == 0 and rows(db("junk"), ROW_MIXED) == want
          and c["capture_records_corrupt"] == 1 and c["capture_corrupt_bytes"] == len(junk),
          "pcapng: a corrupt stretch is counted (1 block, 37 bytes) and skipped, the same rows",
          (p.stderr, c.get("capture_records_corrupt"), c.get("capture_corrupt_bytes")))
    # An interface of a link type kexwatch does not decode: its packets are
    # skipped and counted, the other interface's rows kept.
    tool("editcap", "-T", "user0", "-F", "pcapng", cap("tls13-raw.pcap"), t("user0.pcapng"))
    tool("mergecap", "-F", "pcapng", "-w", t("user0-mixed.pcapng"), ngs[0], t("user0.pcapng"))
    p = run(["read", "-q", "--db", db("user0"), t("user0-mixed.pcapng")])
    check(p.returncode == 0 and rows(db("user0"), "sni, verdict") == [("mlkem.kx.test", "pq")]
          and b"interface 1 has link type 147" in p.stderr and b"18 packets skipped" in p.stderr,
          "an interface of link type 147 (USER0): warning, its 18 packets skipped, the other's row kept",
          p.stderr)

    # --- compressed captures, by magic number ---
    sources = ["tls13-mixed-50.pcap", "tls13-x25519mlkem768.pcapng", "ssh-default-sntrup.pcap",
               "quic-chromium-ngtcp2.pcap"]
    comp = {"gzip": ["gzip", "-c"], "xz": ["xz", "-c"], "zstd": ["zstd", "-q", "-c"]}
    for f in sources + ["mixed"]:
        src = t("mixed.pcapng") if f == "mixed" else cap(f)
        run(["read", "-q", "--db", db("orig"), src])
        orig = rows(db("orig"))
        origi = rows(db("orig"), "interface")
        os.unlink(db("orig"))
        for z, cmd in comp.items():
            # The names lie: the magic number decides.
            zf = t(f"{f}.{z}.pcap")
            with open(zf, "wb") as out:
                subprocess.run(cmd + [src], stdout=out, check=True)
            p = run(["read", "-q", "--db", db("z"), zf])
            ok = p.returncode == 0 and rows(db("z")) == orig and rows(db("z"), "interface") == origi
            with open(zf, "rb") as fin:
                p2 = run(["read", "-q", "--db", db("zs"), "-"], stdin=fin)
            ok2 = p2.returncode == 0 and rows(db("zs")) == orig
            with open(zf, "rb") as fin:
                p3 = run(["read", "-q", "--libpcap", "--db", db("zl"), "-"], stdin=fin)
            # --libpcap reads the classic and single-link files through a stream.
            ok3 = f == "mixed" or (p3.returncode == 0 and rows(db("zl")) == orig)
            check(ok and ok2 and ok3 and len(orig) > 0,
                  f"{z} {f}: file, stdin and --libpcap give the rows of the original ({len(orig)})",
                  (p.stderr, p2.stderr, p3.stderr))
            for d in ("z", "zs", "zl"):
                if os.path.exists(db(d)):
                    os.unlink(db(d))
    # Exact rows of a compressed capture, not just equal to the original.
    p = run(["read", "-q", "--db", db("z50"), t("tls13-mixed-50.pcap.zstd.pcap")])
    vz = rows(db("z50"), "verdict")
    check(len(vz) == 50 and vz.count(("hybrid",)) == 24 and vz.count(("classical",)) == 26,
          "zstd tls13-mixed-50: 50 rows, 24 hybrid and 26 classical (as expected.tsv)",
          {v: vz.count(v) for v in set(vz)})

    # Bounded memory: a capture several times the decompressors' windows
    # costs no more to read compressed than plain (nothing held whole).
    if GEN:
        subprocess.run([GEN, "--profile", "dense", "--seed", "7", "--scale", "0.15", "--templates",
                        PCAPS, "--out", t("dense.pcap"), "--expected", t("dense.tsv"), "--sessions",
                        t("dense-s.tsv")], check=True, capture_output=True)
        size = os.path.getsize(t("dense.pcap"))
        rc0, rss0 = max_rss_kb(["read", "-q", "--db", db("dense0"), t("dense.pcap")])
        n0 = len(rows(db("dense0"), "id"))
        for z, cmd in comp.items():
            with open(t("dense.z"), "wb") as out:
                subprocess.run(cmd + [t("dense.pcap")], stdout=out, check=True)
            with open(t("dense.z"), "rb") as fin:
                rc, rss = max_rss_kb(["read", "-q", "--db", db("dense-" + z), "-"], stdin=fin)
            n = len(rows(db("dense-" + z), "id"))
            check(rc0 == 0 and rc == 0 and n == n0 > 1000 and rss - rss0 < 16 * 1024,
                  f"{z} from stdin, {size >> 20} MiB decompressed: {n} rows as plain, peak RSS"
                  f" {rss >> 10} MiB vs {rss0 >> 10} MiB plain", (rc0, rc, n, n0, rss, rss0))
            os.unlink(db("dense-" + z))

    # Two gzip members in a row (cat a.gz b.gz), as rotations are joined.
    big = open(t("tls13-mixed-50.pcap.gzip.pcap"), "rb").read()
    open(t("twice.gz"), "wb").write(big + subprocess.run(["gzip", "-c"], input=b"", capture_output=True).stdout)
    p = run(["read", "-q", "--db", db("twice"), t("twice.gz")])
    check(p.returncode == 0 and len(rows(db("twice"))) == 50, "concatenated gzip members", p.stderr)

    # A compressed stream cut short: warning, exit 0, the good part's rows kept.
    for z, ext in (("gzip", "gzip"), ("xz", "xz"), ("zstd", "zstd")):
        data = open(t(f"tls13-mixed-50.pcap.{ext}.pcap"), "rb").read()
        open(t(f"cut.{z}"), "wb").write(data[:len(data) * 6 // 10])
        p = run(["read", "-q", "--db", db(f"cut-{z}"), t(f"cut.{z}")])
        r = rows(db(f"cut-{z}"), "client_port, verdict")
        full = rows(db("z50"), "client_port, verdict")
        c = runs(db(f"cut-{z}"))[-1][1]
        check(p.returncode == 0 and f"{z} stream ends early: the file is truncated".encode() in p.stderr
              and 10 < len(r) < 50 and done_rows(r) <= set(full) and c["capture_truncated"] == 1,
              f"{z} cut at 60 %: warning, exit 0, {len(r)} rows of the good part kept, counted once",
              (p.stderr, len(r), c.get("capture_truncated")))
    # Corrupt compressed data: a clear error, exit 1, rows before it kept.
    data = bytearray(open(t("tls13-mixed-50.pcap.gzip.pcap"), "rb").read())
    mid = len(data) // 2
    data[mid:mid + 64] = bytes(64)
    open(t("corrupt.gz"), "wb").write(data)
    p = run(["read", "-q", "--db", db("corrupt"), t("corrupt.gz")])
    r = rows(db("corrupt"), "client_port, verdict")
    check(p.returncode == 1 and b"gzip data corrupt near compressed byte" in p.stderr
          and 0 < len(r) < 50 and done_rows(r) <= set(rows(db("z50"), "client_port, verdict")),
          f"corrupt gzip: clear error, exit 1, {len(r)} rows before it kept", p.stderr)

    # --- one warning and exit code for a cut capture, whatever the reader ---
    good = open(cap("tls13-x25519mlkem768.pcap"), "rb").read()
    open(t("cut.pcap"), "wb").write(good[:-30])
    ng = open(cap("tls13-x25519mlkem768.pcapng"), "rb").read()
    open(t("cut.pcapng"), "wb").write(ng[:-40])
    open(t("cut.pcap.gz"), "wb").write(subprocess.run(["gzip", "-c"], input=good[:-30],
                                                        capture_output=True).stdout)
    ways = [("own reader", ["cut.pcap"], None), ("--libpcap", ["--libpcap", "cut.pcap"], None),
            ("stdin", ["-"], "cut.pcap"), ("stdin --libpcap", ["--libpcap", "-"], "cut.pcap"),
            ("pcapng", ["cut.pcapng"], None), ("pcapng --libpcap", ["--libpcap", "cut.pcapng"], None),
            ("gzip", ["cut.pcap.gz"], None)]
    seen = set()
    for i, (what, args, stdin) in enumerate(ways):
        args = [a if a.startswith("-") else t(a) for a in args]
        fin = open(t(stdin), "rb") if stdin else None
        p = run(["read", "-q", "--db", db(f"w{i}"), *args], stdin=fin)
        if fin:
            fin.close()
        c = runs(db(f"w{i}"))[-1][1]
        msg = [l for l in p.stderr.decode().splitlines() if "warning" in l]
        seen.add(tuple(m.split(": ", 3)[-1].split(" (after")[0] for m in msg))
        check(p.returncode == 0 and len(msg) == 1 and "file ends in the middle of a packet" in msg[0]
              and c["capture_truncated"] == 1 and len(rows(db(f"w{i}"))) == 1,
              f"cut capture, {what}: exit 0, one warning, counted once, the row kept", p.stderr)
    check(len(seen) == 1, "the same warning words from every reader", seen)

    # --- exit codes ---
    p = run(["read", "--db", db("bpf"), "--filter", "tcp port", cap("tls13-raw.pcap")])
    check(p.returncode == 2 and b"bad filter 'tcp port'" in p.stderr and not os.path.exists(db("bpf")),
          "bad BPF: exit 2 (usage), no database created", p.stderr)
    before = runs(db("mixed"))
    p = run(["read", "--db", db("mixed"), "--filter", "port 443 and", t("mixed.pcapng")])
    check(p.returncode == 2 and runs(db("mixed")) == before, "bad BPF on an inventory: exit 2, no runs row")
    p = run(["read", "--db", db("mixed"), "--filter", "tcp port 443", t("mixed.pcapng")])
    check(p.returncode == 0 and len(runs(db("mixed"))) == len(before) + 1,
          "a good BPF on the mixed pcapng (compiled per link type): exit 0", p.stderr)
    before = runs(db("mixed"))
    open(t("empty.pcap"), "wb").close()
    p = run(["read", "--db", db("mixed"), t("missing.pcap"), t("empty.pcap")])
    check(p.returncode == 1 and runs(db("mixed")) == before,
          "nothing read (missing and empty files): exit 1, no runs row", p.stderr)
    p = run(["read", "--db", db("nothing"), t("empty.pcap")])
    con = sqlite3.connect(db("nothing"))
    n = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    con.close()
    check(p.returncode == 1 and n == 0, "a new inventory that read nothing has no runs row", n)

    # --pg to a server that does not answer: a warning at once, rows in the outbox.
    t0 = time.monotonic()
    p = run(["read", "--db", db("pg"), "--pg", "postgresql://kx@127.0.0.1:9/kx", "--pg-drain", "1",
             cap("tls13-mlkem768.pcap")], timeout=60)
    dt = time.monotonic() - t0
    err = p.stderr.decode()
    check(p.returncode == 0 and "warning: central store" in err and "unavailable" in err
          and db("pg") in err and "1 rows wait in the local outbox" in err and dt < 15
          and len(rows(db("pg"))) == 1,
          f"--pg unreachable: exit 0, warned with the outbox path, 1 row waits ({dt:.1f} s)", err)
    return 1 if failures else 0


if __name__ == "__main__":
    rc = main()
    print(f"1..{len(failures)} failures" if failures else "all ok")
    sys.exit(rc)
