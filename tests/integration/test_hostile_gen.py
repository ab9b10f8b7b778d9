#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Hostile captures, generated here: ClientHellos with thousands of groups
and extensions, a 64 KiB ClientHello, overlapping segments with conflicting
bytes, a segment storm that never fills a gap, pcapng with unknown blocks,
and a flood of 2 million distinct flows with a real handshake in the middle.
Expectations: no crash, counted skips, the good handshakes still produce
their exact rows, memory under the caps, run time linear in input size."""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

KX, PCAPS = sys.argv[1], sys.argv[2]
failures = []


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


def vec(n, data):
    return len(data).to_bytes(n, "big") + data


def ext(t, data):
    return struct.pack(">H", t) + vec(2, data)


def client_hello(sni=b"hostile.kx.test", groups=(0x11EC, 0x001D), shares=(0x11EC,), n_extra_ext=0,
                 padding=0):
    exts = ext(0, vec(2, b"\x00" + vec(2, sni)))
    exts += ext(10, vec(2, b"".join(struct.pack(">H", g) for g in groups)))
    exts += ext(43, vec(1, b"\x03\x04\x03\x03"))
    exts += ext(51, vec(2, b"".join(struct.pack(">H", g) + vec(2, b"\x11" * (1216 if g == 0x11EC else 32))
                                    for g in shares)))
    for i in range(n_extra_ext):
        exts += ext(0xff00 + (i % 200), b"")  # private-use, empty
    if padding:
        exts += ext(21, b"\x00" * padding)
    body = b"\x03\x03" + b"\x42" * 32 + vec(1, b"\x07" * 32) + vec(2, b"\x13\x01\x13\x02") + vec(1, b"\x00")
    body += vec(2, exts)
    return b"\x01" + len(body).to_bytes(3, "big") + body


def server_hello(group=0x11EC):
    # the share has its group's size (1120 / 32 bytes): a wrong one is judged unknown/share-size
    share = b"\x22" * (1120 if group == 0x11EC else 32)
    exts = ext(43, b"\x03\x04") + ext(51, struct.pack(">H", group) + vec(2, share))
    body = b"\x03\x03" + b"\x24" * 32 + vec(1, b"\x07" * 32) + b"\x13\x01\x00" + vec(2, exts)
    return b"\x02" + len(body).to_bytes(3, "big") + body


def records(msg):
    out = b""
    for i in range(0, len(msg), 16384):
        out += b"\x16\x03\x01" + vec(2, msg[i:i + 16384])
    return out


class Pcap:
    def __init__(self):
        self.parts = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
        self.t = 1_700_000_000_000_000
        self.n = 0

    def frame(self, src, dst, sport, dport, seq, ack, flags, payload=b""):
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40 + len(payload), 0, 0x4000, 64, 6, 0,
                         bytes(src), bytes(dst))
        tcp = struct.pack(">HHIIBBHHH", sport, dport, seq & 0xffffffff, ack & 0xffffffff, 0x50, flags,
                          65535, 0, 0)
        fr = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp + payload
        self.t += 10
        self.n += 1
        self.parts.append(struct.pack("<IIII", self.t // 1_000_000, self.t % 1_000_000, len(fr), len(fr)) + fr)

    def handshake(self, cport, ch_stream, sh_stream, seg=1448, client=(10, 0, 0, 1),
                  server=(10, 0, 0, 2), order=None, extra=None):
        c, s = client, server
        self.frame(c, s, cport, 443, 1000, 0, 0x02)
        self.frame(s, c, 443, cport, 5000, 1001, 0x12)
        self.frame(c, s, cport, 443, 1001, 5001, 0x10)
        segs = [(i, ch_stream[i:i + seg]) for i in range(0, len(ch_stream), seg)]
        for i in (order or range(len(segs))):
            off, data = segs[i]
            self.frame(c, s, cport, 443, 1001 + off, 5001, 0x18, data)
        if extra:
            extra(self)
        if sh_stream:
            self.frame(s, c, 443, cport, 5001, 1001 + len(ch_stream), 0x18, sh_stream)
        return len(segs)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(b"".join(self.parts))


RUNS = [0]
PEAK = [0]


def read(tmp, pcap, *args):
    RUNS[0] += 1
    db = os.path.join(tmp, f"run{RUNS[0]}.db")
    t0 = time.monotonic()
    proc = subprocess.Popen([KX, "read", "--db", db, "--no-progress", *args, pcap],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # VmHWM is the process's own peak (getrusage of children would include
    # this Python process's pages, inherited across fork).
    hwm = 0
    while proc.poll() is None:
        try:
            for line in open(f"/proc/{proc.pid}/status"):
                if line.startswith("VmHWM:"):
                    hwm = max(hwm, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.005)
    out, errs = proc.communicate()
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, errs)
    el = time.monotonic() - t0
    PEAK[0] = hwm
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM handshakes ORDER BY pkt_first_ch")]
    c = json.loads(con.execute("SELECT counters FROM runs").fetchone()[0])
    con.close()
    return p, rows, c, el


with tempfile.TemporaryDirectory() as tmp:
    # 5000 groups and 2000 extensions: kept lists bounded, flagged, verdict intact.
    pc = Pcap()
    groups = [0x11EC, 0x001D] + [0x1000 + i for i in range(4998)]
    n = pc.handshake(40001, records(client_hello(groups=groups, n_extra_ext=2000)), records(server_hello()))
    path = os.path.join(tmp, "many-groups.pcap")
    pc.write(path)
    p, rows, c, _ = read(tmp, path)
    ok = p.returncode == 0 and len(rows) == 1
    check(ok and rows[0]["verdict"] == "hybrid" and rows[0]["list_overflow"] == 1 and
          len(json.loads(rows[0]["groups_offered"])) == 64 and rows[0]["ch_segments"] == n,
          f"ClientHello with 5000 groups and 2000 extensions over {n} segments: hybrid, list overflow flagged")

    # A 64 KiB ClientHello (padding extension), in 16 KiB records over 46 segments.
    pc = Pcap()
    ch = client_hello(padding=65536 - 1700)
    n = pc.handshake(40002, records(ch), records(server_hello(0x001D)))
    path = os.path.join(tmp, "64k.pcap")
    pc.write(path)
    p, rows, c, _ = read(tmp, path)
    check(p.returncode == 0 and len(rows) == 1 and rows[0]["ch_bytes"] == len(ch) and
          rows[0]["ch_segments"] == n and rows[0]["verdict"] == "classical" and
          rows[0]["reason"] == "server-declined",
          f"64 KiB ClientHello ({len(ch)} bytes, {n} segments) parsed: server-declined")
    # The ClientHello is refused by the cap (counted); the ServerHello still
    # records the server's choice, with the offer marked as not seen.
    p, rows, c, _ = read(tmp, path, "--max-message-bytes", "32768")
    check(p.returncode == 0 and c["tls_hello_too_big"] >= 1 and
          [(r["verdict"], r["reason"], r["client_hello_seen"], r["groups_offered"]) for r in rows] ==
          [("classical", "offer-unseen", 0, "[]")],
          "the same with --max-message-bytes 32768: refused and counted, the server's choice kept"
          f" ({[(r['verdict'], r['reason'], r['client_hello_seen']) for r in rows]})")

    # 40 concurrent 64 KiB ClientHellos under --memcap 1: the handshakes
    # whose ClientHello could not be buffered still have a row, with the
    # server's choice, the offer marked as not seen and the reason capacity.
    pc = Pcap()
    chs, shs = records(client_hello(padding=65536 - 1700)), records(server_hello(0x11EC))
    c, s = (10, 0, 0, 1), (10, 0, 0, 2)
    segs = [chs[i:i + 1448] for i in range(0, len(chs), 1448)]
    for k in range(40):
        pc.frame(c, s, 41000 + k, 443, 1000, 0, 0x02)
        pc.frame(s, c, 443, 41000 + k, 5000, 1001, 0x12)
        pc.frame(c, s, 41000 + k, 443, 1001, 5001, 0x10)
        for i, data in enumerate(segs[:-1]):
            pc.frame(c, s, 41000 + k, 443, 1001 + i * 1448, 5001, 0x18, data)
    for k in range(40):
        pc.frame(c, s, 41000 + k, 443, 1001 + (len(segs) - 1) * 1448, 5001, 0x18, segs[-1])
        pc.frame(s, c, 443, 41000 + k, 5001, 1001 + len(chs), 0x18, shs)
    path = os.path.join(tmp, "memcap.pcap")
    pc.write(path)
    p, rows, c, _ = read(tmp, path, "--memcap", "1")
    kinds = {}
    for r in rows:
        k = (r["verdict"], r["reason"], r["client_hello_seen"])
        kinds[k] = kinds.get(k, 0) + 1
    refused = c["reasm_memcap_hits"]
    check(p.returncode == 0 and len(rows) == 40 and refused > 0 and
          kinds == {("hybrid", None, 1): 40 - refused, ("hybrid", "capacity", 0): refused} and
          "--memcap reached" in p.stderr,
          f"--memcap 1 with 40 concurrent 64 KiB ClientHellos: 40 rows, {refused} marked capacity ({kinds})")

    # Overlap with conflicting bytes: the first copy of a byte wins.
    pc = Pcap()
    first = records(client_hello(sni=b"first.kx.test"))
    other = records(client_hello(sni=b"other.kx.test"))

    def early(pcap):
        pass
    # Segment 2 of the "first" stream arrives before anything; then the whole
    # "other" stream: bytes 1448.. are already held and must stay "first".
    c_, s_ = (10, 0, 0, 1), (10, 0, 0, 2)
    pc.frame(c_, s_, 40003, 443, 1000, 0, 0x02)
    pc.frame(s_, c_, 443, 40003, 5000, 1001, 0x12)
    pc.frame(c_, s_, 40003, 443, 1001, 5001, 0x10)
    sni_at = first.index(b"first.kx.test")
    pc.frame(c_, s_, 40003, 443, 1001 + sni_at, 5001, 0x18, first[sni_at:sni_at + 200])
    pc.frame(c_, s_, 40003, 443, 1001, 5001, 0x18, other[:1448])
    pc.frame(c_, s_, 40003, 443, 1001 + 1448, 5001, 0x18, other[1448:])
    pc.frame(s_, c_, 443, 40003, 5001, 1001 + len(other), 0x18, records(server_hello()))
    path = os.path.join(tmp, "overlap.pcap")
    pc.write(path)
    p, rows, c, _ = read(tmp, path)
    check(p.returncode == 0 and len(rows) == 1 and rows[0]["sni"] == "first.kx.test" and
          c["reasm_overlap_conflicts"] == 1,
          "conflicting overlap: first copy kept (SNI first.kx.test), conflict counted")

    # A storm of 20 000 segments behind a gap that never fills.
    pc = Pcap()
    ch = records(client_hello(sni=b"storm.kx.test"))

    def storm(pcap):
        for i in range(20000):
            pcap.frame(c_, s_, 40004, 443, 1001 + 3000 + (i * 211) % 60000, 5001, 0x18, b"\x17" * 100)
    pc.frame(c_, s_, 40005, 443, 1000, 0, 0x02)  # an unrelated good handshake afterwards
    n = pc.handshake(40004, ch, None, seg=700, order=[1], extra=storm)
    pc.handshake(40006, records(client_hello(sni=b"good.kx.test")), records(server_hello()))
    path = os.path.join(tmp, "storm.pcap")
    pc.write(path)
    p, rows, c, el = read(tmp, path)
    by = {r["sni"]: r for r in rows}
    check(p.returncode == 0 and c["reasm_ooo_dropped"] > 0 and "good.kx.test" in by and
          by["good.kx.test"]["verdict"] == "hybrid",
          f"segment storm behind a gap: bounded ({c['reasm_ooo_dropped']} dropped), good handshake intact")

    # pcapng with blocks of an unknown type between the packets.
    src = open(os.path.join(PCAPS, "tls13-x25519mlkem768.pcap"), "rb").read()
    off, ng = 24, []

    def block(t, body):
        body += b"\x00" * (-len(body) % 4)
        return struct.pack("<II", t, len(body) + 12) + body + struct.pack("<I", len(body) + 12)
    ng.append(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)))
    ng.append(block(1, struct.pack("<HHI", 1, 0, 262144)))
    while off + 16 <= len(src):
        sec, us, cap, wire = struct.unpack_from("<IIII", src, off)
        ts = sec * 1_000_000 + us
        ng.append(block(0x0BAD0001, b"unknown block kexwatch must skip"))
        ng.append(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xffffffff, cap, wire) + src[off + 16:off + 16 + cap]))
        off += 16 + cap
    path = os.path.join(tmp, "unknown-blocks.pcapng")
    open(path, "wb").write(b"".join(ng))
    p, rows, c, _ = read(tmp, path)
    check(p.returncode == 0 and len(rows) == 1 and rows[0]["group_name"] == "X25519MLKEM768",
          "pcapng with unknown block types: handshake found")

    # 2 million distinct flows (SYNs from distinct ports/addresses) around a
    # real handshake: memory under the caps, linear time.
    def flood(n, path):
        pc = Pcap()
        fr = []
        hdr = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
        t = pc.t
        half = n // 2
        for i in range(n):
            if i == half:
                pc.t = t
                pc.parts.extend(fr)
                fr = []
                pc.handshake(40007, records(client_hello(sni=b"flood.kx.test")), records(server_hello()))
                t = pc.t
            src = struct.pack(">I", 0x0B000000 + i // 60000)
            ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0, src, b"\x0a\x00\x00\x02")
            tcp = struct.pack(">HHIIBBHHH", 1024 + i % 60000, 443, i, 0, 0x50, 0x02, 65535, 0, 0)
            t += 1
            fr.append(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, 54, 54) + hdr + ip + tcp)
        pc.parts.extend(fr)
        pc.write(path)

    small, big = os.path.join(tmp, "flood1m.pcap"), os.path.join(tmp, "flood2m.pcap")
    flood(1_000_000, small)
    flood(2_000_000, big)
    res = {}
    for name, path in (("1M", small), ("2M", big)):
        p, rows, c, el = read(tmp, path)
        res[name] = (p, rows, c, el, PEAK[0])
    p, rows, c, el2, rss = res["2M"]
    el1 = res["1M"][3]
    check(p.returncode == 0 and len(rows) == 1 and rows[0]["sni"] == "flood.kx.test" and
          rows[0]["verdict"] == "hybrid" and c["flows_evicted_full"] > 1_000_000,
          f"2 million SYN flows: the real handshake kept, {c['flows_evicted_full']} evictions counted")
    sanitized = "libasan" in subprocess.run(["ldd", KX], capture_output=True, text=True).stdout
    if sanitized:
        print(f"ok - 2 million flows: peak RSS {rss // 1024} MiB # SKIP AddressSanitizer build")
    else:
        check(rss < 64 * 1024, f"2 million flows: peak RSS {rss // 1024} MiB < 64 MiB")
    check(el2 < 2.6 * el1 + 0.5, f"run time linear: 1M flows {el1:.2f} s, 2M flows {el2:.2f} s")

if failures:
    sys.exit(f"{len(failures)} failed")
