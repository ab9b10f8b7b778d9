#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Scripted SMTP server for plaintext-smtp.pcap (Debian's postfix and exim4
are heavy to run from a private directory; the client, swaks, is real).

Listens on HOST at each PORT and serves one connection per port: EHLO
lists STARTTLS, mail is accepted in cleartext (MAIL, RCPT, DATA ... '.',
QUIT), and STARTTLS is refused with "454 4.7.0 TLS not available due to
temporary reason" (RFC 3207). TLS never starts; what differs between the
connections is whether the client asks. Exits once every port served one
connection.

usage: smtp_server.py HOST READYFILE PORT...
"""
import socket
import sys
import threading

host, ready = sys.argv[1:3]
ports = [int(p) for p in sys.argv[3:]]


def serve(lsock):
    conn, _ = lsock.accept()
    lsock.close()
    f = conn.makefile('rb')

    def send(text):
        conn.sendall(text.encode())

    send('220 mail.kx.test ESMTP kexwatch-scripted\r\n')
    while True:
        line = f.readline()
        if not line:
            break
        cmd = line.decode(errors='replace').strip().upper()
        if cmd.startswith('EHLO'):
            send('250-mail.kx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n'
                 '250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n')
        elif cmd.startswith('HELO'):
            send('250 mail.kx.test\r\n')
        elif cmd == 'STARTTLS':
            send('454 4.7.0 TLS not available due to temporary reason\r\n')
        elif cmd.startswith('MAIL FROM') or cmd.startswith('RCPT TO') or cmd == 'RSET' \
                or cmd == 'NOOP':
            send('250 2.1.0 Ok\r\n')
        elif cmd == 'DATA':
            send('354 End data with <CR><LF>.<CR><LF>\r\n')
            while True:
                body = f.readline()
                if not body or body in (b'.\r\n', b'.\n'):
                    break
            send('250 2.0.0 Ok: queued as KX1\r\n')
        elif cmd == 'QUIT':
            send('221 2.0.0 Bye\r\n')
            break
        else:
            send('502 5.5.2 Error: command not recognized\r\n')
    f.close()
    conn.close()


threads = []
for port in ports:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1)
    t = threading.Thread(target=serve, args=(s,))
    t.start()
    threads.append(t)
open(ready, 'w').write('ready\n')
for t in threads:
    t.join()
