#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Every global symbol kexwatch defines must carry the kx_ prefix: nDPI 4.2
exports ~237 unprefixed globals (cache_add, quic_len, ...), and a same-named
symbol of ours would capture nDPI's own calls. Also checks directly against
the symbols libndpi.so exports."""
import subprocess
import sys

lib = sys.argv[1]
out = subprocess.run(["nm", "-g", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
ours = {l.split()[-1] for l in out.splitlines() if len(l.split()) == 3}
# Sanitizer builds add instrumentation symbols (__odr_asan.kx_..., __asan_...).
bad = sorted(s for s in ours if not s.startswith("kx_") and not s.startswith("__odr_asan.kx_"))
ndpi = set()
for path in sys.argv[2:]:
    path = subprocess.run(["readlink", "-f", path], capture_output=True, text=True).stdout.strip() or path
    o = subprocess.run(["nm", "-D", "--defined-only", path], capture_output=True, text=True)
    ndpi |= {l.split()[-1] for l in o.stdout.splitlines() if len(l.split()) == 3}
clash = sorted(ours & ndpi)
print(f"{len(ours)} global symbols in {lib}, {len(ndpi)} exported by nDPI")
if bad:
    print("without the kx_ prefix:", " ".join(bad))
if clash:
    print("also defined by nDPI:", " ".join(clash))
sys.exit(1 if bad or clash else 0)
