// SPDX-License-Identifier: BSD-2-Clause
'use strict';
// kexwatch pcapgen: scripted STARTTLS peers. The cleartext phase is spoken
// by hand; the socket is then handed to Node's TLS (Node 24, OpenSSL 3.5,
// X25519MLKEM768 capable) with tls.TLSSocket / tls.connect({socket}).
//
//   node starttls_peer.js server --proto smtp|ftp|ldap|xmpp --port P [--host H]
//        --key f --cert f [--groups G1:G2] [--ready FILE]
//   node starttls_peer.js client --proto smtp --host H --port P [--sni NAME]
//        [--groups G1:G2]
//
// The server takes one connection, upgrades it, answers one request over TLS
// and exits. One JSON line per side is logged on stdout.
const tls = require('tls');
const net = require('net');
const fs = require('fs');

function parseArgs(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const n = argv[i + 1];
      if (n === undefined || n.startsWith('--')) o[a.slice(2)] = true;
      else { o[a.slice(2)] = n; i++; }
    } else o._.push(a);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// Reads framed pieces from a plain socket; detach() stops reading so the
// socket can be handed to TLS without losing bytes.
function reader(sock) {
  let buf = Buffer.alloc(0);
  let want = null;
  const check = () => {
    if (!want) return;
    const n = want.fn(buf);
    if (n < 0) return;
    const out = buf.subarray(0, n);
    buf = buf.subarray(n);
    const w = want;
    want = null;
    w.resolve(out);
  };
  const onData = (d) => { buf = Buffer.concat([buf, d]); check(); };
  sock.on('data', onData);
  sock.on('end', () => { if (want) { const w = want; want = null; w.resolve(null); } });
  return {
    read(fn) { return new Promise((resolve) => { want = { fn, resolve }; check(); }); },
    line() { return this.read((b) => { const i = b.indexOf(10); return i < 0 ? -1 : i + 1; }); },
    // up to and including the '>' that follows `marker`
    until(marker) {
      return this.read((b) => {
        const i = b.indexOf(marker);
        if (i < 0) return -1;
        const j = b.indexOf(62, i);
        return j < 0 ? -1 : j + 1;
      });
    },
    ber() {
      return this.read((b) => {
        if (b.length < 2) return -1;
        let len = b[1], hdr = 2;
        if (len & 0x80) {
          const n = len & 0x7f;
          if (b.length < 2 + n) return -1;
          len = 0;
          for (let i = 0; i < n; i++) len = len * 256 + b[2 + i];
          hdr = 2 + n;
        }
        return b.length < hdr + len ? -1 : hdr + len;
      });
    },
    detach() {
      sock.removeListener('data', onData);
      sock.pause();
      if (buf.length) throw new Error('bytes left over before TLS');
    },
  };
}

function tlsOpts() {
  const o = {};
  if (opt.groups) o.ecdhCurve = opt.groups;
  return o;
}

function serverTls(sock, info, onLine) {
  const o = tlsOpts();
  o.isServer = true;
  o.secureContext = tls.createSecureContext(Object.assign({
    key: fs.readFileSync(opt.key), cert: fs.readFileSync(opt.cert) }, o));
  const t = new tls.TLSSocket(sock, o);
  t.on('secure', () => {
    info.protocol = t.getProtocol();
    info.cipher = t.getCipher().standardName;
    info.servername = t.servername;
  });
  let pending = '';
  t.on('data', (d) => {
    pending += d.toString();
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const l = pending.slice(0, i + 1);
      pending = pending.slice(i + 1);
      onLine(t, l);
    }
  });
  t.on('error', (e) => { info.error = e.code || e.message; });
  t.on('close', () => { log(info); process.exit(0); });
}

const DIALOGS = {
  async smtp(sock, r, info) {
    sock.write('220 mail.kx.test ESMTP kexwatch\r\n');
    for (;;) {
      const l = await r.line();
      if (l === null) return;
      const cmd = l.toString().trim().toUpperCase();
      if (cmd.startsWith('EHLO')) {
        sock.write('250-mail.kx.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-STARTTLS\r\n' +
                   '250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n');
      } else if (cmd === 'STARTTLS') {
        r.detach();
        sock.write('220 2.0.0 Ready to start TLS\r\n');
        return serverTls(sock, info, (t, line) => {
          const c = line.trim().toUpperCase();
          if (c.startsWith('QUIT')) t.end('221 2.0.0 Bye\r\n');
          else if (c.startsWith('EHLO')) t.write('250-mail.kx.test\r\n250 8BITMIME\r\n');
          else t.write('250 2.0.0 Ok\r\n');
        });
      } else if (cmd === 'QUIT') {
        sock.end('221 2.0.0 Bye\r\n');
        return;
      } else sock.write('502 5.5.2 Error: command not recognized\r\n');
    }
  },
  async ftp(sock, r, info) {
    sock.write('220-kexwatch test FTP service\r\n220 FTP server ready\r\n');
    for (;;) {
      const l = await r.line();
      if (l === null) return;
      const cmd = l.toString().trim().toUpperCase();
      if (cmd === 'FEAT') {
        sock.write('211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n');
      } else if (cmd === 'AUTH TLS' || cmd === 'AUTH SSL') {
        r.detach();
        sock.write('234 Proceed with negotiation.\r\n');
        return serverTls(sock, info, (t, line) => {
          if (line.trim().toUpperCase() === 'QUIT') t.end('221 Goodbye.\r\n');
          else t.write('200 Ok\r\n');
        });
      } else sock.write('530 Please login with USER and PASS.\r\n');
    }
  },
  async ldap(sock, r, info) {
    const m = await r.ber();
    if (m === null) return;
    const oid = Buffer.from('1.3.6.1.4.1.1466.20037');
    if (m.indexOf(oid) < 0) { sock.destroy(); return; }
    // messageID: 30 LL 02 01 ID (openssl s_client and ldapsearch use short forms)
    const id = m[4];
    r.detach();
    // ExtendedResponse { success, "", "", responseName = StartTLS OID }
    const body = Buffer.concat([Buffer.from([0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00, 0x8a, oid.length]), oid]);
    const op = Buffer.concat([Buffer.from([0x78, body.length]), body]);
    const seq = Buffer.concat([Buffer.from([0x02, 0x01, id]), op]);
    sock.write(Buffer.concat([Buffer.from([0x30, seq.length]), seq]));
    serverTls(sock, info, () => {});
  },
  async xmpp(sock, r, info) {
    const hdr = await r.until('<stream:stream');
    if (hdr === null) return;
    sock.write("<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
      "xmlns:stream='http://etherx.jabber.org/streams' id='kx-3b1d' from='kx.test' version='1.0' " +
      "xml:lang='en'><stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" +
      "<required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" +
      '<mechanism>PLAIN</mechanism></mechanisms></stream:features>');
    const st = await r.until('<starttls');
    if (st === null) return;
    r.detach();
    sock.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    serverTls(sock, info, () => {});
  },
};

async function smtpClient() {
  const info = { role: 'client', proto: 'smtp' };
  const sock = net.connect({ host: opt.host, port: Number(opt.port) });
  sock.on('error', (e) => { info.error = e.code; log(info); process.exit(1); });
  await new Promise((res) => sock.once('connect', res));
  const r = reader(sock);
  const reply = async () => {
    let all = '';
    for (;;) {
      const l = await r.line();
      if (l === null) throw new Error('closed');
      all += l.toString();
      if (l.length < 4 || l[3] !== 0x2d) return all;
    }
  };
  await reply();
  sock.write('EHLO client.kx.test\r\n');
  const caps = await reply();
  if (!/STARTTLS/.test(caps)) throw new Error('no STARTTLS');
  sock.write('STARTTLS\r\n');
  const go = await reply();
  if (!go.startsWith('220')) throw new Error('STARTTLS refused: ' + go);
  r.detach();
  const o = tlsOpts();
  o.socket = sock;
  o.servername = opt.sni || 'mail.kx.test';
  o.rejectUnauthorized = false;
  const t = tls.connect(o, () => {
    info.protocol = t.getProtocol();
    info.cipher = t.getCipher().standardName;
    info.group = t.getEphemeralKeyInfo();
    t.write('EHLO client.kx.test\r\nQUIT\r\n');
  });
  t.on('data', () => {});
  t.on('error', (e) => { info.error = e.code || e.message; });
  t.on('close', () => { log(info); });
}

const role = opt._[0];
if (role === 'server') {
  const dialog = DIALOGS[opt.proto];
  if (!dialog) { console.error('unknown --proto'); process.exit(2); }
  const srv = net.createServer((sock) => {
    srv.close();
    const info = { role: 'server', proto: opt.proto, remote: `${sock.remoteAddress}:${sock.remotePort}` };
    sock.on('error', (e) => { info.error = e.code; });
    dialog(sock, reader(sock), info).catch((e) => { info.error = e.message; log(info); process.exit(1); });
  });
  srv.listen({ port: Number(opt.port), host: opt.host || '0.0.0.0' }, () => {
    if (opt.ready) fs.writeFileSync(opt.ready, 'ready\n');
  });
} else if (role === 'client' && opt.proto === 'smtp') {
  smtpClient().catch((e) => { log({ role: 'client', error: e.message }); process.exit(1); });
} else {
  console.error('usage: starttls_peer.js server|client --proto ...');
  process.exit(2);
}
