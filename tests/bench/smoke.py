#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""bench-smoke: the benchmark pipeline at a tiny scale, for correctness only.

    smoke.py GEN_CAPTURE KEXWATCH TEMPLATE_DIR

For the dense and plain30 profiles: generates a small capture (a few
thousand packets, every variant), checks that the same seed gives the same
bytes, runs kexwatch on it through both readers (our own and libpcap) and
compares the rows and the plaintext sessions with the generator's lists
(check_rows), then every column of every row and sessions row with a
--no-fastpath run (same_rows), and the run summary's counts with the lists.
Nothing is timed.
"""
import filecmp
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_rows  # noqa: E402

SCALE = "0.005"
SEED = "7"
# Kinds of handshake (verdict, reason, hrr) every capture holds; plain30
# also holds sessions, some added up in one row (same client and server).
KINDS = 6


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    if p.returncode != 0:
        sys.exit(f"bench-smoke: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p.stdout


def data_lines(path):
    with open(path) as f:
        return [line.rstrip("\n").split("\t") for line in f
                if not line.startswith("#") and not line.startswith("client_ip\t")]


def profile(gen, kexwatch, templates, tmp, name):
    failures = 0
    caps = []
    for copy in ("a", "b"):
        base = os.path.join(tmp, f"{name}-{copy}")
        cap, tsv, stsv = base + ".pcap", base + ".tsv", base + "-sessions.tsv"
        print(run([gen, "--profile", name, "--seed", SEED, "--scale", SCALE,
                   "--templates", templates, "--out", cap, "--expected", tsv,
                   "--sessions", stsv]), end="")
        caps.append((cap, tsv, stsv))
    if not all(filecmp.cmp(x, y, shallow=False) for x, y in zip(*caps)):
        print(f"bench-smoke: {name}: the same seed gave different output")
        failures += 1
    cap, tsv, stsv = caps[0]
    variants = {(c[5], c[6], c[8]) for c in data_lines(tsv)}
    print(f"bench-smoke: {name}: verdict/reason/hrr kinds in the capture: {sorted(variants)}")
    if len(variants) < KINDS:
        print(f"bench-smoke: {name}: the capture should hold all {KINDS} kinds of handshake")
        failures += 1
    sessions = data_lines(stsv)
    pairs = {(s[0], s[2], s[3]) for s in sessions}
    print(f"bench-smoke: {name}: {len(sessions)} plaintext sessions between {len(pairs)} "
          "client/server pairs")
    if name == "plain30" and not (0 < len(pairs) < len(sessions)):
        print("bench-smoke: plain30 should hold sessions, some between the same endpoints")
        failures += 1
    if name != "plain30" and sessions:
        print(f"bench-smoke: {name} should hold no plaintext session")
        failures += 1
    ref = os.path.join(tmp, f"{name}-reference.db")
    run([kexwatch, "read", "--db", ref, "--no-progress", "-q", "--no-fastpath", cap])
    for reader in ([], ["--libpcap"]):
        db = os.path.join(tmp, f"{name}-k{len(reader)}.db")
        out = run([kexwatch, "read", "--db", db, "--no-progress"] + reader + [cap])
        print(f"bench-smoke: {name}: kexwatch read {' '.join(reader) or '(own reader)'}")
        if check_rows.compare(db, tsv) != 0 or check_rows.compare_sessions(db, stsv) != 0:
            failures += 1
        # The run summary counts the same: every flow one row or one session.
        hs = re.search(r"^handshakes: (\d+) ", out, re.M)
        plain = re.search(r"^sessions without a handshake: (\d+) plaintext", out, re.M)
        ledger = re.search(r"^flows: (\d+) seen = (\d+) handshake rows .* \+ (\d+) plaintext ",
                           out, re.M)
        want = (len(data_lines(tsv)), len(sessions))
        # The sessions line is left out when there are none.
        got = (hs and int(hs[1]), int(plain[1]) if plain else 0)
        got_ledger = ledger and (int(ledger[1]), int(ledger[2]), int(ledger[3]))
        if got != want or got_ledger != (sum(want),) + want:
            print(f"bench-smoke: {name}: summary says handshakes/plaintext {got}, flow ledger "
                  f"(seen, rows, plaintext) {got_ledger}; want {want}:\n{out}")
            failures += 1
        same = subprocess.run([sys.executable, os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "same_rows.py"), db, ref],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(same.stdout, end="")
        if same.returncode != 0:
            failures += 1
    return failures


def main():
    gen, kexwatch, templates = sys.argv[1:4]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kx-bench-smoke-") as tmp:
        for name in ("dense", "plain30"):
            failures += profile(gen, kexwatch, templates, tmp, name)
    print("bench-smoke: " + ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
