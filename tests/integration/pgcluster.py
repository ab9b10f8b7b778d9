# SPDX-License-Identifier: BSD-2-Clause
"""A private PostgreSQL cluster for the central-store tests: initdb in a
temporary folder, unix socket only (no TCP listener), fsync off, stopped by
the test. initdb and postgres refuse to run as root: as root they run as
the 'postgres' system user. Importing exits 77 (skipped) when the server
binaries are missing."""
import glob
import os
import pwd
import subprocess
import sys


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


BIN = pg_bindir()
if not BIN:
    print("1..0 # SKIP PostgreSQL server binaries not installed (apt-get install postgresql)")
    sys.exit(77)


class Cluster:
    def __init__(self, top, port):
        self.top = top
        self.port = str(port)
        self.data = os.path.join(top, "data")
        self.log = os.path.join(top, "log")
        self.as_user = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(top, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def run(self, *a, check_rc=True):
        p = subprocess.run(self.as_user + list(a), capture_output=True, text=True)
        if check_rc and p.returncode != 0:
            raise RuntimeError(" ".join(a) + ": " + p.stdout + p.stderr)
        return p

    def init(self):
        self.run(os.path.join(BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "kx",
                 "--no-sync")

    def start(self):
        self.run(os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-o",
                 f"-k {self.top} -c listen_addresses='' -p {self.port} -c fsync=off", "start")

    def stop(self, mode="fast"):
        self.run(os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop",
                 check_rc=False)

    def createdb(self, name):
        """Creates database name; returns its URL."""
        self.run(os.path.join(BIN, "createdb"), "-h", self.top, "-p", self.port, "-U", "kx", name)
        return f"postgresql://kx@/{name}?host={self.top}&port={self.port}"

    def psql(self, sql, db="kx"):
        p = subprocess.run([os.path.join(BIN, "psql"), "-h", self.top, "-p", self.port, "-U", "kx",
                            "-d", db, "-At", "-F", "|", "-c", sql],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(sql + ": " + p.stderr)
        return p.stdout.strip()
