#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Tables that fit: hops, clients, fingerprints and changes on a terminal
of 100 columns (a pseudo-terminal with TIOCSWINSZ) print no line wider than
100 and still name every endpoint (SNI) and client of the bundled captures;
--wide, and a pipe, print the full lines as before; --limit N prints N rows
and says how many were left out; --columns chooses and orders columns by
their --csv names, and an unknown name exits 2 with the list.

usage: test_tables.py KEXWATCH PCAPS_DIR
"""
import fcntl
import json
import os
import struct
import subprocess
import sys
import tempfile
import termios

KX, PCAPS = sys.argv[1], sys.argv[2]
passed, failed = [], []

CAPTURES = [
    "tls13-x25519mlkem768.pcap", "tls13-server-declined.pcap",
    "tls13-server-declined-openssl30.pcap", "tls13-client-no-pq.pcap", "tls12-ecdhe.pcap",
    "tls13-hybrid-draft-synthetic.pcap", "tls13-mlkem768.pcap", "tls13-hrr-x25519mlkem768.pcap",
    "quic-chromium-ngtcp2.pcap", "tls13-mixed-50.pcap", "ssh-server-refuses-pq.pcap",
    "tls13-dropped-large-ch.pcap", "tls13-ch-first-segment-lost.pcap", "plaintext-http.pcap",
]

HOPS_HEAD = ("SERVER       PORT  SNI                        PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ"
             "  CLASSICAL  PLAINTEXT  OTHER  GROUPS                 LAST SEEN             VERDICT")


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args):
    return subprocess.run([KX, *args], capture_output=True, text=True, timeout=120)


def on_terminal(args, cols=100):
    """Runs kexwatch with stdout and stderr on a pseudo-terminal cols wide."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    p = subprocess.Popen([KX, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                         env=env, close_fds=True)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    rc = p.wait(timeout=120)
    os.close(master)
    return rc, out.decode("utf-8").replace("\r\n", "\n")


def widest(text):
    return max((len(line) for line in text.splitlines()), default=0)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "kx.db")
        for n in CAPTURES:
            p = kx("read", "-q", "--db", db, "--sensor", "lab", os.path.join(PCAPS, n))
            check(p.returncode == 0, f"read {n}", p.stderr)
        hops = json.loads(kx("hops", "--db", db, "--json").stdout)
        snis = sorted({h["sni"] for h in hops if h["sni"]})
        servers = sorted({h["server_ip"] for h in hops})
        check(len(hops) == 64 and len(snis) == 60, f"{len(hops)} endpoints, {len(snis)} SNIs", (len(hops), len(snis)))

        # hops on a terminal of 100 columns
        rc, out = on_terminal(["hops", "--db", db])
        lines = out.splitlines()
        check(rc == 0 and widest(out) <= 100, "hops: no line wider than the terminal (100)", (rc, widest(out), out))
        missing = [s for s in snis if not any(s in line.split() for line in lines)]
        check(not missing, f"hops: all {len(snis)} SNIs whole on the terminal", missing)
        check(all(any(ip in line for line in lines) for ip in servers), "hops: every server IP", servers)
        check(lines[0].split() == ["SERVER", "PORT", "SNI", "HANDSHAKES", "HYBRID", "CLASSICAL", "VERDICT"],
              "hops: the columns kept at 100", lines[0])
        check(lines[-1] == "(hidden: PROTO, CLIENTS, PQ, PLAINTEXT, OTHER, GROUPS, LAST SEEN; "
              "--wide shows every column)", "hops: the note names the hidden columns", lines[-1])
        check(len(lines) == len(hops) + 2, "hops: one line per endpoint", len(lines))
        check(any("classical (server-decl\u2026" in line for line in lines),
              "hops: a long verdict ends in an ellipsis")

        # a pipe: the full lines as before
        piped = kx("hops", "--db", db)
        plines = piped.stdout.splitlines()
        check(piped.returncode == 0 and plines[0] == HOPS_HEAD and len(plines) == len(hops) + 1
              and "\u2026" not in piped.stdout and "hidden" not in piped.stdout and widest(piped.stdout) > 160,
              "hops to a pipe: every column, full cells, no note", plines[:2])
        rc, wide = on_terminal(["hops", "--db", db, "--wide"])
        check(rc == 0 and wide == piped.stdout, "hops --wide on the terminal = the pipe's output",
              (wide.splitlines()[:2], plines[:2]))

        # --limit
        rc, out = on_terminal(["hops", "--db", db, "--limit", "3"])
        lines = out.splitlines()
        check(rc == 0 and len(lines) == 1 + 3 + 2
              and lines[4] == f"\u2026 {len(hops) - 3} more lines left out (--limit 3)",
              "hops --limit 3: three rows and how many were left out", lines)
        p = kx("hops", "--db", db, "--limit", "5")
        check(p.returncode == 0 and len(p.stdout.splitlines()) == 7
              and p.stdout.splitlines()[6] == f"\u2026 {len(hops) - 5} more lines left out (--limit 5)",
              "hops --limit 5 to a pipe", p.stdout.splitlines()[5:])
        p = kx("hops", "--db", db, "--json", "--limit", "4")
        check(p.returncode == 0 and json.loads(p.stdout) == hops[:4]
              and p.stderr == f"kexwatch: {len(hops) - 4} more rows left out (--limit 4)\n",
              "hops --json --limit 4: four objects, the note on stderr", p.stderr)
        for bad in ("0", "-2", "x", "3x"):
            p = kx("hops", "--db", db, "--limit", bad)
            check(p.returncode == 2 and "--limit" in p.stderr, f"--limit {bad}: exit 2", p.stderr)

        # --columns
        p = kx("hops", "--db", db, "--columns", "sni,verdict,handshakes", "--limit", "4")
        check(p.returncode == 0 and p.stdout.splitlines() == [
            "SNI                       VERDICT                      HANDSHAKES",
            "-                         plaintext                             0",
            "-                         plaintext                             0",
            "-                         classical (server-declined)           1",
            "declined-openssl.kx.test  classical (server-declined)           1",
            f"\u2026 {len(hops) - 4} more lines left out (--limit 4)"],
            "hops --columns sni,verdict,handshakes: those columns, in that order", p.stdout)
        p = kx("hops", "--db", db, "--csv", "--columns", "verdict,sni", "--limit", "4")
        check(p.returncode == 0 and p.stdout == "verdict,sni\nplaintext,\nplaintext,\n"
              "classical (server-declined),\nclassical (server-declined),declined-openssl.kx.test\n", "hops --csv --columns verdict,sni", p.stdout)
        p = kx("hops", "--db", db, "--columns", "sni,nonesuch")
        check(p.returncode == 2 and p.stdout == ""
              and p.stderr.startswith("kexwatch hops: --columns: unknown column 'nonesuch'; the columns are "
                                      "server_ip,server_port,sni,first_seen,")
              and ",verdict," in p.stderr, "hops --columns nonesuch: exit 2 and the list", (p.returncode, p.stderr))
        p = kx("clients", "--db", db, "--json", "--columns", "bogus")
        check(p.returncode == 2 and "unknown column 'bogus'" in p.stderr and "client_ip" in p.stderr,
              "clients --json --columns bogus: exit 2", p.stderr)

        # clients, fingerprints, changes at 100
        clients = json.loads(kx("clients", "--db", db, "--json").stdout)
        rc, out = on_terminal(["clients", "--db", db])
        check(rc == 0 and widest(out) <= 100 and len(out.splitlines()) == len(clients) + 2
              and all(any(c["client_ip"] in line.split() for line in out.splitlines()) for c in clients),
              f"clients: {len(clients)} clients, no line wider than 100", out)
        fps = json.loads(kx("fingerprints", "--db", db, "--json").stdout)
        rc, out = on_terminal(["fingerprints", "--db", db])
        check(rc == 0 and widest(out) <= 100 and len(out.splitlines()) == len(fps) + 2,
              f"fingerprints: {len(fps)} lines, no line wider than 100", out)
        p = kx("fingerprints", "--db", db)
        check(p.returncode == 0 and widest(p.stdout) > 100 and len(p.stdout.splitlines()) == len(fps) + 1,
              "fingerprints to a pipe: full lines", widest(p.stdout))
        window = ["--since", "2026-11-22T02:52:00Z", "--until", "2026-11-23", "--baseline-since",
                  "2026-11-01", "--baseline-until", "2026-11-22T02:52:00Z"]
        p = kx("changes", "--db", db, *window, "--json")
        changes = json.loads(p.stdout)
        rc, out = on_terminal(["changes", "--db", db, *window])
        check(rc == p.returncode and widest(out) <= 100 and len(changes) > 0
              and len(out.splitlines()) >= len(changes) + 1, f"changes: {len(changes)} changes, no line wider than 100", out)
        rc, out = on_terminal(["changes", "--db", db, *window], cols=60)
        check(widest(out) <= 60, "changes at 60 columns", out)
        rc, out = on_terminal(["hops", "--db", db], cols=40)
        check(rc == 0 and widest(out) <= 40, "hops at 40 columns", out)

        # bash completion (contrib/completion) offers the new options and command
        comp = os.path.join(os.path.dirname(os.path.abspath(PCAPS)), "contrib", "completion", "kexwatch.bash")
        script = ('source "$1"; complete() { :; }; c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kexwatch;'
                  ' echo "${COMPREPLY[*]}"; }; c kexwatch hops --co; c kexwatch hops --wi; c kexwatch gro;'
                  ' c kexwatch groups --gr; c kexwatch hops --db "$2" --columns sn; c kexwatch hops --db "$2" --columns sni,ver;'
                  ' c kexwatch groups --columns na')
        env = dict(os.environ, PATH=os.path.dirname(os.path.abspath(KX)) + os.pathsep + os.environ.get("PATH", ""))
        r = subprocess.run(["bash", "-c", script, "bash", comp, db], capture_output=True, text=True, env=env, timeout=60)
        check(r.stdout.splitlines() == ["--columns", "--wide", "groups", "--groups", "sni", "sni,verdict",
                                        "name"],
              "bash completion: --columns, --wide, groups, --groups, column names", r.stdout + r.stderr)

    print(f"# {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
