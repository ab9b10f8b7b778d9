#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The HTML report on paper and on a small screen, in headless Chromium.

On paper (--print-to-pdf, then poppler-utils' pdftotext): every endpoint
(SNI) of the bundled captures is in the PDF — no table is cut by a scroll
box — and every table section starts a page. On screen: a script added to
a copy of the page measures, at 1280 and at 800 pixels, every element's
box; none may reach past the window except inside a table's scroll box, and
at 1280 pixels no table scrolls sideways (at 800 only the widest, of 12 to
15 columns, may).

usage: test_report_print.py KEXWATCH PCAPS_DIR
Exit status: 0 passed, 1 failed, 77 Chromium or pdftotext is not installed.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

KX, PCAPS = sys.argv[1], sys.argv[2]
passed, failed = [], []

PROBE = """<script>
(function () {
  var w = document.documentElement.clientWidth, out = [], scrolls = [];
  var all = document.querySelectorAll('body *');
  for (var i = 0; i < all.length; i++) {
    var e = all[i], r = e.getBoundingClientRect();
    if (e.closest('.scroll') && !e.classList.contains('scroll')) continue;
    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5))
      out.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + ':' + Math.round(r.right));
  }
  var boxes = document.querySelectorAll('.scroll');
  for (var j = 0; j < boxes.length; j++) {
    var t = boxes[j].querySelector('table');
    if (boxes[j].scrollWidth > boxes[j].clientWidth + 1)
      scrolls.push(t && t.id ? t.id : 'table');
  }
  document.documentElement.setAttribute('data-width', String(w));
  document.documentElement.setAttribute('data-wider', out.join(' '));
  document.documentElement.setAttribute('data-hscroll', scrolls.join(' '));
})();
</script>"""


def check(cond, what, detail=None):
    print(("ok - " if cond else "not ok - ") + what)
    if not cond and detail is not None:
        for line in str(detail).splitlines()[:40]:
            print("#   " + line)
    (passed if cond else failed).append(what)


def kx(*args):
    return subprocess.run([KX, *args], capture_output=True, text=True, timeout=300)


def main():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    pdftotext = shutil.which("pdftotext")
    if not chromium or not pdftotext:
        print("skip - chromium or pdftotext is not installed (contrib/install-deps.sh: chromium, "
              "poppler-utils)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "kx.db")
        caps = sorted(glob.glob(os.path.join(PCAPS, "*.pcap")) + glob.glob(os.path.join(PCAPS, "*.pcapng")))
        p = kx("read", "-q", "--db", db, *caps)
        check(p.returncode == 0, f"read the {len(caps)} bundled captures", p.stderr[-2000:])
        hops = json.loads(kx("hops", "--db", db, "--json").stdout)
        snis = sorted({h["sni"] for h in hops if h["sni"]})
        check(len(snis) > 100, f"{len(snis)} SNIs among {len(hops)} endpoints")
        page = os.path.join(tmp, "report.html")
        p = kx("report", "--db", db, "--html", page)
        check(p.returncode == 0, "report --html", p.stderr)
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--user-data-dir=" + os.path.join(tmp, "chromium")]

        # Paper
        pdf = os.path.join(tmp, "report.pdf")
        r = subprocess.run([chromium, *flags, "--no-pdf-header-footer", "--print-to-pdf=" + pdf,
                            "file://" + page], capture_output=True, text=True, timeout=300)
        check(r.returncode == 0 and os.path.exists(pdf), "chromium --print-to-pdf", r.stderr[-2000:])
        text = subprocess.run([pdftotext, "-layout", pdf, "-"], capture_output=True, text=True).stdout
        missing = [s for s in snis if s not in text]
        check(not missing, f"the PDF names all {len(snis)} SNIs (every hops row on paper)", missing[:20])
        pages = text.split("\f")
        starts = [i for i, pg in enumerate(pages) if pg.lstrip().startswith("Hops\n")]
        check(len(starts) == 1, "the Hops section starts a page", [pg.lstrip()[:40] for pg in pages])
        both = [i for i, pg in enumerate(pages) if "Groups selected by servers" in pg and "Hops by verdict" in pg]
        check(len(both) == 1, "the group and hop charts side by side on one page", [pg[:60] for pg in pages])
        n_rows = sum(1 for line in text.splitlines()
                     if re.match(r"\s*(\d{1,3}\.){3}\d{1,3}\s+\d+\s", line) or re.match(r"\s*[0-9a-f:]+::[0-9a-f]*\s+\d+\s", line))
        check(n_rows >= len(hops), f"at least {len(hops)} endpoint rows in the PDF text", n_rows)

        # Screen
        with open(page) as f:
            html = f.read()
        probe = os.path.join(tmp, "probe.html")
        with open(probe, "w") as f:
            f.write(html.replace("</body>", PROBE + "</body>"))
        # At 800 px the tables of 12 to 15 columns may scroll; the others fit.
        for width, may_scroll in ((1280, set()), (800, {"kx-hops", "kx-clients", "kx-fingerprints",
                                                       "kx-health-bands", "kx-changes-table"})):
            r = subprocess.run([chromium, *flags, f"--window-size={width},900", "--dump-dom", "file://" + probe],
                               capture_output=True, text=True, timeout=300)
            m = re.search(r'<html[^>]*data-width="(\d+)"[^>]*data-wider="([^"]*)"[^>]*data-hscroll="([^"]*)"', r.stdout)
            check(r.returncode == 0 and m is not None, f"{width} px: the probe ran", r.stderr[-1000:])
            if not m:
                continue
            check(m.group(2) == "", f"{width} px: no element wider than the window ({m.group(1)} px)", m.group(2))
            scrolls = set(m.group(3).split())
            check(scrolls <= may_scroll, f"{width} px: tables scrolling sideways: {sorted(scrolls) or 'none'}",
                  sorted(scrolls - may_scroll))
    print(f"# {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
