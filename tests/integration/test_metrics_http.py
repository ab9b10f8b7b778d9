#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""End to end: `kexwatch live -i lo --metrics-listen` sees a hybrid TLS
handshake replayed over a real loopback TCP connection and reports it at
/metrics, then a plaintext HTTP exchange over another one, which counts in
kexwatch_sessions_total and not as a handshake; SIGHUP keeps it running,
SIGTERM stops it cleanly.

usage: test_metrics_http.py KEXWATCH DATA_DIR
DATA_DIR holds ch-x25519mlkem768.bin and sh-x25519mlkem768.bin (TLS records).
Exit 77 (skip) without the privilege to capture (root or CAP_NET_RAW).
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SKIP = 77


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_capture():
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
        return True
    except (PermissionError, AttributeError, OSError):
        return False


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def value(text, line_prefix):
    """Value of the sample whose name and labels are exactly line_prefix."""
    for line in text.splitlines():
        if line.startswith(line_prefix + " "):
            return float(line[len(line_prefix) + 1:])
    return None


def replay(srv, ch, sh):
    """One TCP connection on loopback to the listening socket srv: the
    client sends the ClientHello record, the server answers with the
    ServerHello record."""
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        got = b""
        while len(got) < len(ch):
            b = conn.recv(65536)
            if not b:
                break
            got += b
        conn.sendall(sh)
        time.sleep(0.2)
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    cli = socket.create_connection(("127.0.0.1", port))
    cli.sendall(ch)
    got = b""
    while len(got) < len(sh):
        b = cli.recv(65536)
        if not b:
            break
        got += b
    cli.close()
    t.join()
    srv.close()
    return port


def plain_http(port):
    """One HTTP/1.1 request and response in cleartext over loopback."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    port = srv.getsockname()[1]

    def serve():
        conn, _ = srv.accept()
        got = b""
        while b"\r\n\r\n" not in got:
            b = conn.recv(65536)
            if not b:
                break
            got += b
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    cli = socket.create_connection(("127.0.0.1", port))
    cli.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    while cli.recv(65536):
        pass
    cli.close()
    t.join()
    srv.close()


def main():
    kexwatch, data = sys.argv[1], sys.argv[2]
    if not can_capture():
        print("SKIP: capturing on lo needs root or CAP_NET_RAW")
        return SKIP
    ch = open(os.path.join(data, "ch-x25519mlkem768.bin"), "rb").read()
    sh = open(os.path.join(data, "sh-x25519mlkem768.bin"), "rb").read()
    failures = []

    def check(cond, what):
        print(("ok - " if cond else "not ok - ") + what)
        if not cond:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        mport = free_port()
        # Only this test's two servers: other tests may talk on loopback too.
        hport = free_port()
        events = os.path.join(tmp, "events.json")
        # The replay's server port is known before capture starts, so other
        # tests' loopback traffic (HTTP listeners, sessions) stays out.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        cmd = [kexwatch, "live", "-i", "lo", "--no-db", "--json", events, "--sensor", "it",
               "--filter", "tcp and (port %d or port %d)" % (srv.getsockname()[1], hport),
               "--metrics-listen", "127.0.0.1:%d" % mport, "-q"]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            text = None
            deadline = time.time() + 10
            while time.time() < deadline and proc.poll() is None:
                try:
                    status, ctype, text = scrape(mport)
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    time.sleep(0.1)
            check(text is not None, "listener answers (%s)" % " ".join(cmd))
            if text is None:
                return 1
            check(ctype == "text/plain; version=0.0.4; charset=utf-8", "content type %s" % ctype)

            # Capture is live once packets show up; then replay.
            time.sleep(0.5)
            replay(srv, ch, sh)
            hs = ('kexwatch_handshakes_total{sensor="it",protocol="tls",group="X25519MLKEM768",'
                  'verdict="hybrid",reason="none"}')
            v = None
            deadline = time.time() + 10
            while time.time() < deadline:
                _, _, text = scrape(mport)
                v = value(text, hs)
                if v:
                    break
                time.sleep(0.2)
            check(v == 1, "one hybrid handshake counted (got %s)" % v)
            # 1586-byte ClientHello: past one Ethernet frame
            b = 'kexwatch_client_hello_size_bytes_bucket{sensor="it",protocol="tls",le="%s"}'
            check(value(text, b % "1500") == 0 and value(text, b % "2048") == 1,
                  "ClientHello in the 1500-2048 bucket")
            rtt = value(text, 'kexwatch_client_hello_to_server_hello_seconds_count'
                              '{sensor="it",protocol="tls"}')
            check(rtt == 1, "ClientHello-to-ServerHello observed (%s)" % rtt)
            recv = value(text, 'kexwatch_capture_packets_received_total{sensor="it",interface="lo"}')
            check(recv is not None and recv > 0, "interface counters (%s)" % recv)
            pk = value(text, 'kexwatch_packets_total{sensor="it"}')
            check(pk is not None and pk >= 3, "packets counted (%s)" % pk)
            check(re.search(r'^kexwatch_build_info\{sensor="it",version="[^"]+"', text, re.M)
                  is not None, "build info")

            # A plaintext leg: its own family, not a handshake.
            plain_http(hport)
            ps = 'kexwatch_sessions_total{sensor="it",verdict="plaintext",reason="no-tls",app="http"}'
            v = None
            deadline = time.time() + 10
            while time.time() < deadline:
                _, _, text = scrape(mport)
                v = value(text, ps)
                if v:
                    break
                time.sleep(0.2)
            check(v == 1, "one plaintext HTTP session counted (got %s)" % v)
            check(value(text, hs) == 1 and len(re.findall(r"^kexwatch_handshakes_total\{", text, re.M)) == 1
                  and value(text, 'kexwatch_client_hello_size_bytes_count{sensor="it",protocol="tls"}') == 1,
                  "the session is not a handshake, nor a ClientHello")
            check(value(text, 'kexwatch_flow_plaintext_total{sensor="it"}') == 1,
                  "the flow ledger's plaintext counter")

            try:
                scrape(mport, "/")
                check(False, "GET / is 404")
            except urllib.error.HTTPError as e:
                check(e.code == 404, "GET / is %d" % e.code)

            proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            check(proc.poll() is None, "alive after SIGHUP")
            check(scrape(mport)[0] == 200, "serving after SIGHUP")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
                failures.append("no exit within 15 s of SIGTERM")
        check(proc.returncode == 0, "exit status %s after SIGTERM" % proc.returncode)
        rows = open(events).read().splitlines() if os.path.exists(events) else []
        rows = [r for r in rows if '"event_type":"run"' not in r]  # the run's start and end
        check(len(rows) == 2 and '"verdict":"hybrid"' in rows[0] and '"verdict":"plaintext"' in rows[1]
              and '"app":"http"' in rows[1], "two JSON events, the handshake and the session (%d)" % len(rows))
        if failures:
            sys.stdout.write(out.decode(errors="replace"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
