#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Damaged and hostile capture files: kexwatch must give a clear error or a
counted skip, never crash, and never lose the rows of the good handshakes.
Every damaged file is derived from a real capture in pcaps/."""
import json
import os
import sqlite3
import struct
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
GOOD = os.path.join(PCAPS, "tls13-x25519mlkem768.pcap")
failures = []


def run(args, stdin=None):
    return subprocess.run([KX, *args], capture_output=True, input=stdin)


def check(cond, what):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        failures.append(what)


def rows(db):
    con = sqlite3.connect(db)
    r = con.execute("SELECT verdict, group_code FROM handshakes ORDER BY id").fetchall()
    counters = json.loads(con.execute("SELECT counters FROM runs ORDER BY id DESC").fetchone()[0])
    con.close()
    return r, counters


def records(data):
    """Splits a classic little-endian pcap into its header and records."""
    hdr, off, out = data[:24], 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack_from("<I", data, off + 8)[0]
        out.append(data[off:off + 16 + caplen])
        off += 16 + caplen
    return hdr, out


good = open(GOOD, "rb").read()
hdr, recs = records(good)
HYBRID = [("hybrid", 0x11EC)]

with tempfile.TemporaryDirectory() as tmp:
    def path(name, content):
        p = os.path.join(tmp, name)
        with open(p, "wb") as f:
            f.write(content)
        return p

    def db(name):
        return os.path.join(tmp, name + ".db")

    # Not a capture at all.
    p = run(["read", "--db", db("magic"), path("magic.pcap", b"GIF89a" + bytes(100))])
    check(p.returncode == 1 and b"not a pcap or pcapng file" in p.stderr, "bad magic: exit 1, clear error")
    p = run(["read", "--db", db("empty"), path("empty.pcap", b"")])
    check(p.returncode == 1 and b"too short" in p.stderr, "empty file: exit 1, clear error")
    p = run(["read", "--db", db("none"), os.path.join(tmp, "missing.pcap")])
    check(p.returncode == 1 and b"No such file" in p.stderr, "missing file: exit 1, clear error")
    p = run(["read", "--db", db("hdr"), path("hdr.pcap", good[:10])])
    check(p.returncode == 1 and b"too short" in p.stderr or b"truncated" in p.stderr,
          "global header cut: exit 1")

    # File cut in the middle of the last record: warning, rows kept.
    p = run(["read", "--db", db("cut"), path("cut.pcap", good[:-30])])
    r, ctr = rows(db("cut"))
    check(p.returncode == 0 and b"middle of a packet" in p.stderr, "cut mid-record: warning, exit 0")
    check(r == HYBRID and ctr["capture_truncated"] == 1, "cut mid-record: handshake kept, counted")

    # A corrupt record header between two packets: skipped by resynchronisation.
    junk = struct.pack("<IIII", 0xdeadbeef, 0x7fffffff, 0xfffffff0, 0xfffffff0)
    bad = hdr + b"".join(recs[:4]) + junk + b"".join(recs[4:])
    p = run(["read", "--db", db("corrupt"), path("corrupt.pcap", bad)])
    r, ctr = rows(db("corrupt"))
    check(p.returncode == 0 and r == HYBRID and ctr["capture_records_corrupt"] == 1,
          "corrupt record header: resynchronised, handshake kept, counted")
    check(ctr["packets"] == len(recs), "corrupt record header: every real packet read")

    # The same across the reader's 256 KiB read chunks: filler datagrams
    # (UDP to the discard port, never a handshake) push the corrupt header
    # so that it straddles the end of the first chunk, and the records
    # after it straddle later ones.
    def datagram(i, size, ts):
        """A filler record of exactly `size` bytes (record header included)."""
        payload = bytes((i + k) & 0xFF for k in range(size - 16 - 14 - 20 - 8))
        udp = struct.pack(">HHHH", 40000 + i % 1000, 9, 8 + len(payload), 0) + payload
        ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         bytes([10, 9, 0, 1]), bytes([10, 9, 0, 2])) + udp
        frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
        return struct.pack("<IIII", ts[0], ts[1], len(frame), len(frame)) + frame

    def filler(upto, ts, start=0):
        """Filler records from file offset `start` to exactly `upto`."""
        out, at, i = [], start, 0
        while upto - at > 0:
            size = 900 + (i * 37) % 500
            if upto - at - size < 200:
                size = upto - at
            out.append(datagram(i, size, ts))
            at += size
            i += 1
        return out
    ts0 = struct.unpack_from("<II", recs[0])
    fill = filler(262144 - 8, ts0, len(hdr))
    more = filler(700000, ts0, 262144 + 8)
    big = hdr + b"".join(fill) + junk + b"".join(more) + b"".join(recs)
    check(big.index(junk) == 262144 - 8, "large file: the corrupt header straddles the first 256 KiB chunk")
    body = b"".join(fill + more)
    fill = fill + more
    p = run(["read", "--db", db("big"), path("big.pcap", big)])
    r, ctr = rows(db("big"))
    check(p.returncode == 0 and r == HYBRID and ctr["capture_records_corrupt"] == 1 and
          ctr["packets"] == len(fill) + len(recs),
          "large file, corrupt header across a read chunk: every packet read, handshake kept")
    clean = hdr + body + b"".join(recs) + body
    p = run(["read", "--db", db("clean"), path("clean.pcap", clean)])
    r, ctr = rows(db("clean"))
    p2 = run(["read", "--libpcap", "--db", db("clean2"), path("clean2.pcap", clean)])
    r2, ctr2 = rows(db("clean2"))
    check(p.returncode == 0 and p2.returncode == 0 and r == r2 == HYBRID and
          ctr["packets"] == ctr2["packets"] == 2 * len(fill) + len(recs) and
          ctr["bytes"] == ctr2["bytes"],
          "large file: own reader and libpcap read the same packets and bytes")

    # Corruption with nothing valid after it: error, earlier rows kept.
    tail = hdr + b"".join(recs) + junk + os.urandom(64)
    p = run(["read", "--db", db("tail"), path("tail.pcap", tail)])
    r, _ = rows(db("tail"))
    check(p.returncode == 1 and b"corrupt record header" in p.stderr and r == HYBRID,
          "unrecoverable corruption at the end: exit 1, handshake kept")

    # Timestamps that jump years forward and back (merge_time_jumps.py) are
    # no corruption: both readers read every record and give the same rows.
    merged = os.path.join(PCAPS, "merged-time-jumps.pcap")
    MERGED = [("hybrid", 0x11EC), ("classical", 0x1D), ("classical", 0x1D)]

    def all_rows(dbf):
        con = sqlite3.connect(dbf)
        con.row_factory = sqlite3.Row
        out = [{k: r[k] for k in r.keys() if k not in ("id", "run_id")}
               for r in con.execute("SELECT * FROM handshakes ORDER BY pkt_first_ch")]
        con.close()
        return out

    mhdr, mrecs = records(open(merged, "rb").read())
    p = run(["read", "--db", db("merged"), merged])
    r, ctr = rows(db("merged"))
    p2 = run(["read", "--libpcap", "--db", db("merged2"), merged])
    r2, ctr2 = rows(db("merged2"))
    check(p.returncode == 0 and r == MERGED and ctr["capture_records_corrupt"] == 0 and
          ctr["packets"] == len(mrecs), "time jumps of years: every record read, every handshake found")
    check(p2.returncode == 0 and r2 == MERGED and ctr2["packets"] == len(mrecs) and
          all_rows(db("merged")) == all_rows(db("merged2")),
          "time jumps of years: libpcap reads the same rows, column for column")

    # Impossible headers still resynchronise, also where the time jumps:
    # the record after the junk is 6 years later than the one before it.
    jump = next(i for i in range(1, len(mrecs))
                if struct.unpack_from("<I", mrecs[i])[0] > struct.unpack_from("<I", mrecs[i - 1])[0] + 86400)
    for what, bad_hdr in (("fraction of a second >= 1e6",
                           struct.pack("<IIII", 1700000000, 1000000, 60, 60)),
                          ("caplen > original length", struct.pack("<IIII", 1700000000, 5, 60, 59)),
                          ("caplen > 256 KiB", struct.pack("<IIII", 1700000000, 5, 262145, 262145))):
        # Payload bytes of the corrupt record, zeros included: a run of
        # zeros looks like empty records and must not be taken for them.
        junkrec = bad_hdr + bytes(60)
        data = mhdr + b"".join(mrecs[:jump]) + junkrec + b"".join(mrecs[jump:])
        p = run(["read", "--db", db("mj"), path("mj.pcap", data)])
        r, ctr = rows(db("mj"))
        os.unlink(db("mj"))
        check(p.returncode == 0 and r == MERGED and ctr["capture_records_corrupt"] == 1 and
              ctr["capture_corrupt_bytes"] == len(junkrec) and ctr["packets"] == len(mrecs),
              f"{what} at a 6-year time jump: resynchronised on the next record, "
              f"{len(junkrec)} bytes skipped and counted")

    # A record longer than the file's snap length: libpcap hands out the
    # snap length and skips the rest; so does the own reader.
    hsnap = hdr[:16] + struct.pack("<I", 200) + hdr[20:]
    p = run(["read", "--db", db("snap200"), path("snap200.pcap", hsnap + b"".join(recs))])
    _, ctr = rows(db("snap200"))
    p2 = run(["read", "--libpcap", "--db", db("snap200b"), path("snap200b.pcap", hsnap + b"".join(recs))])
    _, ctr2 = rows(db("snap200b"))
    check(p.returncode == 0 and p2.returncode == 0 and ctr["capture_records_corrupt"] == 0 and
          ctr["packets"] == ctr2["packets"] == len(recs) and
          ctr["captured_bytes"] == ctr2["captured_bytes"] == sum(min(len(x) - 16, 200) for x in recs),
          "records longer than the snap length: cut to it, as libpcap does")

    # IPv4 total length 0 from the sending host's segmentation offload: the
    # captured length is used and counted, nothing is malformed.
    tso = os.path.join(PCAPS, "tls13-tso-len0.pcap")
    for opt in ([], ["--libpcap"]):
        p = run(["read", *opt, "--db", db("tso"), tso])
        r, ctr = rows(db("tso"))
        os.unlink(db("tso"))
        check(p.returncode == 0 and r == HYBRID and ctr["ip_len_zero"] == 1 and
              ctr["skip_ip_malformed"] == 0, f"IPv4 total length 0{' (' + opt[0] + ')' if opt else ''}: ServerHello read, counted")

    # QUIC: a Retry whose integrity tag does not verify (another connection
    # ID, so its keys would be wrong) injected before the real Retry: a
    # client discards it, and so does kexwatch; the real one is followed.
    qr = open(os.path.join(PCAPS, "quic-ngtcp2-retry.pcap"), "rb").read()
    qhdr, qrecs = records(qr)

    def is_retry(rec):
        fr = rec[16:]
        if fr[12:14] != b"\x08\x00" or fr[23] != 17:
            return False
        q = fr[14 + (fr[14] & 15) * 4 + 8:]
        return len(q) > 5 and q[0] & 0xF0 == 0xF0 and q[1:5] == b"\0\0\0\1"

    ri = next(i for i, x in enumerate(qrecs) if is_retry(x))
    fr = bytearray(qrecs[ri])
    at = 16 + 14 + (fr[16 + 14] & 15) * 4 + 8  # the QUIC bytes
    scid_at = at + 6 + fr[at + 5] + 1
    fr[scid_at] ^= 0xFF                       # another SCID: the tag no longer verifies
    forged = qhdr + b"".join(qrecs[:ri]) + bytes(fr) + b"".join(qrecs[ri:])
    for what, data, ignored in (("real capture", qr, 0), ("forged Retry before the real one", forged, 1)):
        p = run(["read", "--db", db("qr"), path("qr.pcap", data)])
        r, ctr = rows(db("qr"))
        os.unlink(db("qr"))
        check(p.returncode == 0 and r == [("classical", 0x1D)] and ctr["quic_retry_followed"] == 1 and
              ctr["quic_retry_ignored"] == ignored and ctr["quic_undecryptable"] == 0,
              f"QUIC Retry, {what}: tag checked, the valid Retry followed, ServerHello read")

    # SSH on port 2022 with the server's 40 text lines first on the wire:
    # followed as SSH only because the client's first bytes are a version
    # line. With those bytes changed ("XSH-2.0-"), the flow is not SSH:
    # dropped as not TLS, no row.
    sf = open(os.path.join(PCAPS, "ssh-preamble-server-first.pcap"), "rb").read()
    shdr, srecs = records(sf)
    ci = next(i for i, x in enumerate(srecs) if b"SSH-2.0-OpenSSH" in x and struct.unpack_from(">H", x, 16 + 34)[0] != 2022)
    at = srecs[ci].index(b"SSH-2.0-OpenSSH")
    mangled = srecs[ci][:at] + b"X" + srecs[ci][at + 1:]
    notssh = shdr + b"".join(srecs[:ci]) + mangled + b"".join(srecs[ci + 1:])
    for what, data, want, not_tls in (("real", sf, [("hybrid", None)], 0),
                                      ("client not SSH", notssh, [], 1)):
        p = run(["read", "--db", db("sf"), path("sf.pcap", data)])
        r, ctr = rows(db("sf"))
        os.unlink(db("sf"))
        check(p.returncode == 0 and r == want and ctr["flows_not_tls"] == not_tls and
              ctr["ssh_pre_banner_lines"] == 40,
              f"SSH server speaking first with 40 lines on port 2022, {what}: {r}")

    # Garbage inside packets (payload bytes overwritten): no crash, counted.
    import random
    rnd = random.Random(7)
    mangled = [r_[:16] + bytes(rnd.randrange(256) for _ in r_[16:]) for r_ in recs]
    p = run(["read", "--db", db("garbage"), path("garbage.pcap", hdr + b"".join(mangled))])
    check(p.returncode == 0, "random packet bytes: no crash, exit 0")

    # Snap length 64 on every packet: headers decode, payload is truncated.
    snapped = []
    for r_ in recs:
        ts, us, caplen, wire = struct.unpack_from("<IIII", r_)
        n = min(caplen, 64)
        snapped.append(struct.pack("<IIII", ts, us, n, wire) + r_[16:16 + n])
    h64 = hdr[:16] + struct.pack("<I", 64) + hdr[20:]
    p = run(["read", "--db", db("snap"), path("snap.pcap", h64 + b"".join(snapped))])
    r, ctr = rows(db("snap"))
    check(p.returncode == 0 and r == [] and ctr["skip_tcp_short"] == len(recs) - 2,
          "snaplen 64: TCP headers cut, every TCP packet counted, no handshake invented")

    # Several inputs, one unreadable: exit 1, the good one still stored.
    p = run(["read", "--db", db("multi"), os.path.join(tmp, "missing.pcap"), GOOD])
    r, _ = rows(db("multi"))
    check(p.returncode == 1 and r == HYBRID, "one bad input among several: exit 1, rows kept")

    # Standard input, through libpcap.
    p = run(["read", "--db", db("stdin"), "-"], stdin=good)
    r, _ = rows(db("stdin"))
    check(p.returncode == 0 and r == HYBRID, "capture on standard input")

    # BPF filters apply to every packet.
    p = run(["read", "--db", db("f1"), "--filter", "tcp port 443", GOOD])
    r, _ = rows(db("f1"))
    check(p.returncode == 0 and r == HYBRID, "filter keeping the flow")
    p = run(["read", "--db", db("f2"), "--filter", "port 9", GOOD])
    r, _ = rows(db("f2"))
    check(p.returncode == 0 and r == [], "filter excluding the flow")
    p = run(["read", "--db", db("f3"), "--filter", "tcp port", GOOD])
    check(p.returncode == 2 and b"bad filter" in p.stderr and not os.path.exists(db("f3")),
          "invalid filter: a usage error (exit 2), nothing opened or recorded")

    # Tiny caps on 50 concurrent handshakes: evictions are counted, every
    # ClientHello still yields exactly one row, nothing crashes.
    mixed = os.path.join(PCAPS, "tls13-mixed-50.pcap")

    def verdicts(dbf, seen=1):
        con = sqlite3.connect(dbf)
        v = dict(con.execute("SELECT verdict || '/' || ifnull(reason, ''), count(*) FROM handshakes "
                             "WHERE client_hello_seen = ? GROUP BY 1", (seen,)).fetchall())
        c = json.loads(con.execute("SELECT counters FROM runs").fetchone()[0])
        con.close()
        return v, c

    # A ServerHello whose flow was evicted before it arrived starts a new
    # flow: it is recorded as such (client_hello_seen false), apart from
    # the 50 ClientHellos.
    p = run(["read", "--db", db("flows8"), "--max-flows", "8", mixed])
    v, c = verdicts(db("flows8"))
    v0, _ = verdicts(db("flows8"), 0)
    check(p.returncode == 0 and sum(v.values()) == 50 and v.get("incomplete/evicted") == 8
          and v.get("hybrid/") == 16 and c["flows_evicted_full"] > 0
          and v0 == {"hybrid/": 8, "incomplete/evicted": 1},
          f"--max-flows 8: 50 rows, 8 evicted mid-handshake, evictions counted ({v}, {v0})")
    # A handshake refused for want of a context still has its row.
    p = run(["read", "--db", db("hs2"), "--max-handshakes", "2", mixed])
    v, c = verdicts(db("hs2"))
    check(p.returncode == 0 and sum(v.values()) == 50
          and v.get("incomplete/capacity") == c["sessions_refused"] > 0
          and b"sessions_refused" in p.stderr and b"--max-handshakes reached" in p.stderr,
          f"--max-handshakes 2: refused handshakes are rows incomplete/capacity ({c['sessions_refused']})")
    p = run(["read", "--db", db("mem"), "--memcap", "1", "--max-message-bytes", "1024",
             os.path.join(PCAPS, "tls13-x25519mlkem768.pcap")])
    v, c = verdicts(db("mem"))
    # Both hellos (1586 and 1214 bytes) exceed the 1024-byte cap.
    check(p.returncode == 0 and v == {} and c["tls_hello_too_big"] == 2,
          "--max-message-bytes below the ClientHello size: refused and counted, no row")

if failures:
    sys.exit(f"{len(failures)} failed")
