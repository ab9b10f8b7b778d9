#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""paired.py: kexwatch against the bare libpcap loop, run alternately.

run.sh times each tool's runs back to back, so on a host whose speed drifts
(shared cloud vCPUs drift by 10-25 % within minutes) one tool can land in a
fast minute and the other in a slow one. This script alternates them
(A B B A A B ...), so both see the same drift, and prints each one's median,
the ratio of the medians and the median of the per-pair ratios.

    tests/bench/paired.py [--build build-rel] [--pairs 15] [--profile dense|bulk|plain30]
                          [--capture FILE] [--against OTHER_KEXWATCH]
                          [-- extra kexwatch read options]

--against adds a second kexwatch binary (say, a build of the previous
commit) to the rotation, so a change is judged against the same drift.

The capture defaults to the one run.sh generated for the profile (seed 1,
scale 1, in BENCH_DIR or /var/tmp/kexwatch-bench): run run.sh once first.
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


CPU = {}  # wall time -> CPU seconds (user + system, all threads) of that run


def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[t] = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build-rel"))
    ap.add_argument("--pairs", type=int, default=15)
    ap.add_argument("--profile", default="dense", choices=("dense", "bulk", "plain30"))
    ap.add_argument("--capture")
    ap.add_argument("--against", help="another kexwatch binary to alternate with")
    ap.add_argument("extra", nargs="*", help="extra options for kexwatch read")
    a = ap.parse_args()
    if a.pairs < 1:
        ap.error("--pairs wants a positive number")

    build = a.build if os.path.isabs(a.build) else os.path.join(root, a.build)
    kexwatch = os.path.join(build, "kexwatch")
    bare = os.path.join(build, "tests", "bench", "pcap_bare")
    bench_dir = os.environ.get("BENCH_DIR", "/var/tmp/kexwatch-bench")
    capture = a.capture or os.path.join(bench_dir, f"{a.profile}-seed1-scale1.pcap")
    for path, what in ((kexwatch, "kexwatch"), (bare, "pcap_bare"), (capture, "the capture")):
        if not os.path.exists(path):
            sys.exit(f"paired.py: {what} not found at {path}"
                     + (" (run tests/bench/run.sh first)" if path == capture else
                        f" (ninja -C {a.build})"))

    with tempfile.TemporaryDirectory(dir=os.environ.get("DB_DIR", bench_dir)) as work:
        db = os.path.join(work, "kexwatch.db")

        def kx(binary=kexwatch):
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.unlink(db + suffix)
                except FileNotFoundError:
                    pass
            return timed([binary, "read", "--db", db, "--no-progress", "-q",
                          *a.extra, capture])

        def base():
            return timed([bare, capture])

        def other():
            return kx(a.against)

        base()  # page cache and first-run effects, untimed
        kx()
        runs = [base, kx] + ([other] if a.against else [])
        times = {f: [] for f in runs}
        for i in range(a.pairs):
            # Rotate and reverse, so no tool always follows the same one.
            order = runs[i % len(runs):] + runs[:i % len(runs)]
            for f in (order if i % 2 == 0 else order[::-1]):
                times[f].append(f())
        b_times, k_times = times[base], times[kx]

    mb, mk = statistics.median(b_times), statistics.median(k_times)
    ratios = [k / b for b, k in zip(b_times, k_times)]
    extra = (" " + " ".join(a.extra)) if a.extra else ""
    print(f"capture {capture}, {a.pairs} pairs, alternating")
    print(f"bare libpcap loop: median {mb * 1000:.0f} ms "
          f"(min {min(b_times) * 1000:.0f}, max {max(b_times) * 1000:.0f})")
    cpu = lambda ts: statistics.median(CPU[t] for t in ts) * 1000
    print(f"kexwatch read{extra}: median {mk * 1000:.0f} ms "
          f"(min {min(k_times) * 1000:.0f}, max {max(k_times) * 1000:.0f}), "
          f"CPU {cpu(k_times):.0f} ms")
    print(f"ratio of medians {mk / mb:.2f}x; median of per-pair ratios "
          f"{statistics.median(ratios):.2f}x")
    if a.against:
        o_times = times[other]
        mo = statistics.median(o_times)
        print(f"{a.against}: median {mo * 1000:.0f} ms (min {min(o_times) * 1000:.0f}, "
              f"max {max(o_times) * 1000:.0f}), CPU {cpu(o_times):.0f} ms; ratio {mo / mb:.2f}x; "
              f"kexwatch/other per round {statistics.median(k / o for k, o in zip(k_times, o_times)):.3f}, "
              f"CPU {statistics.median(CPU[k] / CPU[o] for k, o in zip(k_times, o_times)):.3f}")


if __name__ == "__main__":
    main()
