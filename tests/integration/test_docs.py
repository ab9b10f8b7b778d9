#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The documentation agrees with the program.

usage: test_docs.py man  KEXWATCH SRCDIR PCAPS
       test_docs.py docs KEXWATCH SRCDIR VERSION

man:  mandoc -Tlint is clean on doc/*.[15]; every option that any command's
      --help prints is in kexwatch(1); every table and view of a real
      inventory, and every column of them (PRAGMA table_info), is in
      kexwatch.db(5).
docs: README's Usage synopsis names, per command, exactly the options that
      command's --help prints; README's count of libFuzzer targets and its
      per-flow and per-context sizes match tests/fuzz and --help; one
      version in meson.build, --version, debian/changelog and CHANGELOG.md;
      every source file carries its SPDX line (contrib/spdx.sh --check).
"""
import os
import re
import sqlite3
import subprocess
import sys
import tempfile

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, **kw)


def commands(kx):
    out = run(kx, "--help").stdout
    cmds, on = [], False
    for line in out.splitlines():
        if line.startswith("commands:"):
            on = True
        elif on and re.match(r"^  [a-z]+ ", line):
            cmds.append(line.split()[0])
        elif on and not line.strip():
            break
    assert len(cmds) >= 10, out
    return cmds


OPT = re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*")


def help_options(kx, cmd):
    """Option groups of `kexwatch CMD --help`: each a set of aliases
    ("-q, --quiet"), taken from the option column of lines starting with '-'."""
    p = run(kx, cmd, "--help")
    assert p.returncode == 0, (cmd, p.stderr)
    groups = []
    for line in p.stdout.splitlines():
        if not re.match(r"^  +-", line):
            continue
        head = re.split(r"\s{2,}", line.strip())[0]
        for part in head.split(" / "):
            names = {m for m in OPT.findall(part)}
            if names:
                groups.append(names)
    return groups


def check_man(kx, src, pcaps):
    pages = [os.path.join(src, "doc", p) for p in ("kexwatch.1", "kexwatch.db.5")]
    for page in pages:
        p = run("mandoc", "-Tlint", "-W", "warning", page)
        if p.returncode != 0 or p.stdout.strip() or p.stderr.strip():
            fail("mandoc -Tlint %s: %s%s" % (page, p.stdout, p.stderr))
    text1 = run("mandoc", "-Tascii", "-Owidth=300", pages[0]).stdout
    text1 = re.sub(r".\x08", "", text1)
    words1 = set(OPT.findall(text1))
    n = 0
    for cmd in commands(kx):
        for group in help_options(kx, cmd):
            for name in group:
                n += 1
                if name not in words1:
                    fail("kexwatch(1) does not name %s %s" % (cmd, name))
    for name in ("--help", "--version"):
        if name not in words1:
            fail("kexwatch(1) does not name %s" % name)
    print("kexwatch(1): %d options of %d commands checked" % (n, len(commands(kx))))

    text5 = re.sub(r".\x08", "", run("mandoc", "-Tascii", pages[1]).stdout)
    words5 = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text5))
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "inv.db")
        caps = [os.path.join(pcaps, c) for c in ("tls13-x25519mlkem768.pcap", "ssh-default-sntrup.pcap",
                                                  "plaintext-http.pcap")]
        p = run(kx, "read", "-q", "--db", db, *caps)
        assert p.returncode == 0, p.stderr
        con = sqlite3.connect(db)
        objs = con.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view')"
                           " AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
        assert any(o[1] == "handshakes" for o in objs), objs
        ncol = 0
        for kind, name in objs:
            if name not in words5:
                fail("kexwatch.db(5) does not name %s %s" % (kind, name))
            for row in con.execute('PRAGMA table_info("%s")' % name):
                ncol += 1
                if row[1] not in words5:
                    fail("kexwatch.db(5) does not name column %s.%s" % (name, row[1]))
        print("kexwatch.db(5): %d tables and views, %d columns checked" % (len(objs), ncol))


def synopsis(readme):
    """{command: set of option names} from README's Usage block; a command's
    [ENGINE OPTIONS] expands to the 'ENGINE OPTIONS:' line, [TABLE OPTIONS]
    to the 'TABLE OPTIONS:' line."""
    i = readme.index("## Usage\n\n```\n")
    block = readme[i:].split("```")[1]
    entries, cur = {}, None
    for line in block.splitlines():
        m = re.match(r"^kexwatch ([a-z]+)\b(.*)", line)
        if m and m.group(1) not in ("COMMAND",):
            cur = m.group(1)
            entries[cur] = m.group(2)
        elif line.startswith("ENGINE OPTIONS:") or line.startswith("TABLE OPTIONS:"):
            cur = line.split(":")[0]
            entries[cur] = line[len(cur) + 1:]
        elif line.startswith(" ") and cur:
            entries[cur] += " " + line
        else:
            cur = None
    engine = set(OPT.findall(entries.pop("ENGINE OPTIONS", "")))
    table = set(OPT.findall(entries.pop("TABLE OPTIONS", "")))
    out = {}
    for cmd, text in entries.items():
        opts = set(OPT.findall(re.sub(r"\(.*?\)", "", text)))
        if "[ENGINE OPTIONS]" in text:
            opts |= engine
        if "[TABLE OPTIONS]" in text:
            opts |= table
        out[cmd] = opts
    return out


def check_docs(kx, src, version):
    readme = open(os.path.join(src, "README.md")).read()
    syn = synopsis(readme)
    for cmd in commands(kx):
        if cmd not in syn:
            fail("README's synopsis has no line for kexwatch %s" % cmd)
            continue
        groups = [g for g in help_options(kx, cmd) if not g & {"-h", "--help"}]
        documented = set()
        for g in groups:
            documented |= g
            if not g & syn[cmd]:
                fail("README's synopsis of %s lacks %s (in --help)" % (cmd, "/".join(sorted(g))))
        for name in sorted(syn[cmd] - documented):
            fail("README's synopsis of %s names %s, which --help does not" % (cmd, name))
    print("synopsis: %d commands checked" % len(syn))
    if '"SELECT ..."|-' not in readme or "kx_set()" not in readme:
        fail("README's synopsis of sql lacks '-' or kx_set()")

    targets = sorted(f[5:-2] for f in os.listdir(os.path.join(src, "tests", "fuzz"))
                     if f.startswith("fuzz_") and f.endswith(".c") and f != "fuzz_main.c")
    words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen", "twenty"]
    counts = [c for c in re.findall(r"\b(\w+) libFuzzer targets", readme)
              if c.isdigit() or c.lower() in words]
    if not counts:
        fail("README does not say how many libFuzzer targets there are")
    for c in counts:
        n = int(c) if c.isdigit() else words.index(c.lower()) if c.lower() in words else -1
        if n != len(targets):
            fail("README says '%s libFuzzer targets', tests/fuzz has %d: %s" % (c, len(targets), targets))
    for t in targets:
        if "`%s`" % t not in readme:
            fail("README's test list does not name the fuzz target `%s`" % t)
    print("fuzz targets: %d" % len(targets))

    h = run(kx, "read", "--help").stdout
    flow = int(re.search(r"--max-flows N .*?(\d+) bytes each", h).group(1))
    ctx = int(re.search(r"--max-handshakes N .*?(\d+) bytes each", h).group(1))
    for m in re.finditer(r"slots of (\d+) bytes|(\d+) bytes per flow slot", readme):
        if int(m.group(1) or m.group(2)) != flow:
            fail("README: flow slot size %s, --help says %d" % (m.group(0), flow))
    sizes = re.findall(r"([\d,]+) bytes\s+in this build|([\d,]+) bytes per handshake being followed",
                       readme)
    if not sizes:
        fail("README does not state the handshake context size")
    for a, b in sizes:
        if int((a or b).replace(",", "")) != ctx:
            fail("README: context size %s bytes, --help says %d" % (a or b, ctx))
    print("sizes: flow %d, context %d bytes" % (flow, ctx))

    got = run(kx, "--version").stdout.splitlines()[0]
    if got != "kexwatch " + version:
        fail("--version says '%s', meson.build %s" % (got, version))
    deb = open(os.path.join(src, "debian", "changelog")).readline()
    if not deb.startswith("kexwatch (%s)" % version) and not deb.startswith("kexwatch (%s-" % version):
        fail("debian/changelog's top entry '%s' is not version %s" % (deb.strip(), version))
    top = re.search(r"^## (\S+)", open(os.path.join(src, "CHANGELOG.md")).read(), re.M)
    if not top or top.group(1) != version:
        fail("CHANGELOG.md's newest entry is not %s" % version)
    print("version %s everywhere" % version)

    p = run("sh", os.path.join(src, "contrib", "spdx.sh"), "--check", cwd=src)
    if p.returncode != 0:
        fail("contrib/spdx.sh --check: %s%s" % (p.stdout, p.stderr))


def main():
    mode, kx, src, arg = sys.argv[1:5]
    if mode == "man" and subprocess.run(["sh", "-c", "command -v mandoc"],
                                        capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            print("mandoc is missing (contrib/install-deps.sh installs it)")
            sys.exit(1)
        print("skipped: mandoc is not installed")
        sys.exit(77)
    if mode == "man":
        check_man(kx, src, arg)
    else:
        check_docs(kx, src, arg)
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("ok")


main()
