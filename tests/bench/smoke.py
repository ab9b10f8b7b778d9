#!/usr/bin/env python3
"""bench-smoke: the benchmark pipeline at a tiny scale, for correctness only.

    smoke.py GEN_CAPTURE KEXWATCH TEMPLATE_DIR

Generates a small dense capture (a few thousand packets, every variant),
checks that the same seed gives the same bytes, runs kexwatch on it through
both readers (our own and libpcap) and compares the rows with check_rows,
then every column of every row with a --no-fastpath run (same_rows).
Nothing is timed.
"""
import filecmp
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_rows  # noqa: E402

SCALE = "0.005"
SEED = "7"


def run(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=60)
    if p.returncode != 0:
        sys.exit(f"bench-smoke: {' '.join(cmd)} exited {p.returncode}:\n{p.stdout}")
    return p.stdout


def main():
    gen, kexwatch, templates = sys.argv[1:4]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kx-bench-smoke-") as tmp:
        caps = []
        for name in ("a", "b"):
            cap = os.path.join(tmp, name + ".pcap")
            tsv = os.path.join(tmp, name + ".tsv")
            print(run([gen, "--profile", "dense", "--seed", SEED, "--scale", SCALE,
                       "--templates", templates, "--out", cap, "--expected", tsv]), end="")
            caps.append((cap, tsv))
        if not filecmp.cmp(caps[0][0], caps[1][0], shallow=False) or \
           not filecmp.cmp(caps[0][1], caps[1][1], shallow=False):
            print("bench-smoke: the same seed gave different output")
            failures += 1
        cap, tsv = caps[0]
        variants = set()
        with open(tsv) as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) > 8 and not line.startswith("#") and cols[0] != "client_ip":
                    variants.add((cols[5], cols[6], cols[8]))
        print(f"bench-smoke: verdict/reason/hrr kinds in the capture: {sorted(variants)}")
        if len(variants) < 6:
            print("bench-smoke: the capture should hold all six kinds of handshake")
            failures += 1
        ref = os.path.join(tmp, "reference.db")
        run([kexwatch, "read", "--db", ref, "--no-progress", "-q", "--no-fastpath", cap])
        for reader in ([], ["--libpcap"]):
            db = os.path.join(tmp, "k%d.db" % len(reader))
            run([kexwatch, "read", "--db", db, "--no-progress", "-q"] + reader + [cap])
            print(f"bench-smoke: kexwatch read {' '.join(reader) or '(own reader)'}")
            if check_rows.compare(db, tsv) != 0:
                failures += 1
            same = subprocess.run([sys.executable, os.path.join(os.path.dirname(
                os.path.abspath(__file__)), "same_rows.py"), db, ref],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            print(same.stdout, end="")
            if same.returncode != 0:
                failures += 1
    print("bench-smoke: " + ("FAIL" if failures else "PASS"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
