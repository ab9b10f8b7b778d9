// SPDX-License-Identifier: BSD-2-Clause
'use strict';
// kexwatch pcapgen: a tiny TLS client/server built on Node's tls module
// (Node 24 bundles OpenSSL 3.5 and therefore speaks ML-KEM hybrids).
//
//   node tlspeer.js server --port 443 [--host ::] [--groups G1:G2] [--max TLSv1.3]
//        [--min TLSv1.2] [--ciphers LIST] [--cert f --key f] [--count N]
//        [--secure-options N] [--ready FILE] [--no-tickets]
//   node tlspeer.js client --host H --port P [--sni NAME] [--groups G1:G2]
//        [--max V] [--ciphers LIST] [--resume N] [--secure-options N]
//        [--connected FILE --go FILE]   (TCP connect, then wait for FILE before TLS)
//        [--fd N]                       (use an already connected socket fd)
//        [--timeout MS] [--parallel K]  (K clients at once, SNI may contain %d)
//        [--requests N --request-gap MS] (N requests on one connection, needs a
//                                         --keep server)
//        [--secured FILE --go-data FILE] (after the handshake, write FILE and
//                                         wait for --go-data before the requests)
//        [--local-port N]               (bind the client socket to this port)
//
// The server answers every request with a short fixed response and closes;
// with --keep it answers each request and closes when the client does.
// Everything is logged as one JSON line per connection on stdout.
const tls = require('tls');
const net = require('net');
const fs = require('fs');

function parseArgs(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const k = a.slice(2);
      const n = argv[i + 1];
      if (n === undefined || n.startsWith('--')) o[k] = true;
      else { o[k] = n; i++; }
    } else o._.push(a);
  }
  return o;
}

const opt = parseArgs(process.argv.slice(2));
const role = opt._[0];
const log = (o) => process.stdout.write(JSON.stringify(o) + '\n');

function commonOpts() {
  const o = {};
  if (opt.groups) o.ecdhCurve = opt.groups;
  if (opt.max) o.maxVersion = opt.max;
  if (opt.min) o.minVersion = opt.min;
  if (opt.ciphers) o.ciphers = opt.ciphers;
  if (opt['ciphersuites']) o.ciphers = opt.ciphersuites;
  let so = 0;
  if (opt['secure-options']) so = Number(opt['secure-options']);
  if (opt['no-tickets']) so |= require('crypto').constants.SSL_OP_NO_TICKET;
  if (so) o.secureOptions = so;
  return o;
}

if (role === 'server') {
  const o = commonOpts();
  o.key = fs.readFileSync(opt.key);
  o.cert = fs.readFileSync(opt.cert);
  if (opt['session-timeout']) o.sessionTimeout = Number(opt['session-timeout']);
  const count = opt.count ? Number(opt.count) : Infinity;
  let done = 0;
  const srv = tls.createServer(o, (s) => {
    const info = { role: 'server', remote: `${s.remoteAddress}:${s.remotePort}`,
      servername: s.servername, protocol: s.getProtocol(), cipher: s.getCipher().standardName,
      group: (s.getEphemeralKeyInfo && s.getEphemeralKeyInfo()) || null, reused: s.isSessionReused() };
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (opt.keep) {
        let i;
        while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
          buf = buf.slice(i + 4);
          s.write('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nhello from kexwatch\n');
        }
      } else if (buf.includes('\n')) {
        s.end('HTTP/1.0 200 OK\r\nContent-Length: 20\r\n\r\nhello from kexwatch\n');
      }
    });
    if (opt.keep) s.on('end', () => s.end());
    s.on('error', (e) => { info.error = e.code || e.message; });
    s.on('close', () => {
      log(info);
      if (++done >= count) srv.close();
    });
  });
  srv.on('tlsClientError', (e, s) => { log({ role: 'server', tlsClientError: e.code || e.message }); if (++done >= count) srv.close(); });
  srv.listen({ port: Number(opt.port), host: opt.host || '::', ipv6Only: false }, () => {
    if (opt.ready) fs.writeFileSync(opt.ready, 'ready\n');
  });
} else if (role === 'client') {
  const base = commonOpts();
  const timeout = opt.timeout ? Number(opt.timeout) : 10000;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  async function waitFile(f) { while (!fs.existsSync(f)) await sleep(20); }

  function one(idx, session) {
    return new Promise((resolve) => {
      const o = Object.assign({}, base);
      o.rejectUnauthorized = false;
      if (opt.sni) o.servername = String(opt.sni).replace('%d', String(idx).padStart(2, '0'));
      if (session) o.session = session;
      const info = { role: 'client', idx, sni: o.servername };
      let gotSession = null;
      let finished = false;
      const finish = () => { if (finished) return; finished = true; clearTimeout(t); log(info); resolve(gotSession); };
      const t = setTimeout(() => { info.error = 'timeout'; if (sock) sock.destroy(); finish(); }, timeout);
      let sock = null;
      const start = (rawSocket) => {
        if (rawSocket) o.socket = rawSocket; else { o.host = opt.host; o.port = Number(opt.port); }
        if (!rawSocket && opt['local-port']) o.localPort = Number(opt['local-port']);
        sock = tls.connect(o, () => {
          info.protocol = sock.getProtocol();
          info.cipher = sock.getCipher().standardName;
          info.group = sock.getEphemeralKeyInfo();
          info.reused = sock.isSessionReused();
          info.local = `${sock.localAddress}:${sock.localPort}`;
          if (!opt.requests) {
            sock.write('GET / HTTP/1.0\r\nHost: ' + (o.servername || 'x') + '\r\n\r\n');
            return;
          }
          (async () => {
            if (opt.secured) fs.writeFileSync(opt.secured, 'secured\n');
            if (opt['go-data']) await waitFile(opt['go-data']);
            sendNext();
          })();
        });
        sock.on('session', (s) => { gotSession = s; });
        let body = '';
        // --requests: one request at a time on the connection, the next one
        // --request-gap ms after each answer; the client closes after the last.
        let sent = 0;
        const sendNext = () => {
          sent++;
          sock.write(`GET /${sent} HTTP/1.1\r\nHost: ${o.servername || 'x'}\r\n\r\n`);
        };
        sock.on('data', (d) => {
          body += d;
          if (!opt.requests) return;
          const answers = body.split('hello from kexwatch\n').length - 1;
          if (answers < sent) return;
          if (sent >= Number(opt.requests)) sock.end();
          else setTimeout(sendNext, opt['request-gap'] ? Number(opt['request-gap']) : 200);
        });
        sock.on('error', (e) => { info.error = e.code || e.message; });
        sock.on('close', () => { info.bytes = body.length; finish(); });
      };
      if (opt.fd !== undefined) {
        start(new net.Socket({ fd: Number(opt.fd), readable: true, writable: true }));
      } else if (opt.go) {
        const co = { host: opt.host, port: Number(opt.port) };
        if (opt['local-port']) co.localPort = Number(opt['local-port']);
        const raw = net.connect(co, async () => {
          if (opt.connected) fs.writeFileSync(opt.connected, 'connected\n');
          await waitFile(opt.go);
          start(raw);
        });
        raw.on('error', (e) => { info.error = e.code; finish(); });
      } else start(null);
    });
  }

  (async () => {
    const par = opt.parallel ? Number(opt.parallel) : 1;
    const first = opt['index-base'] ? Number(opt['index-base']) : 1;
    if (par > 1) {
      const ps = [];
      for (let i = 0; i < par; i++) ps.push(one(first + i, null));
      await Promise.all(ps);
      return;
    }
    const resume = opt.resume ? Number(opt.resume) : 0;
    let sess = await one(first, null);
    for (let r = 0; r < resume; r++) {
      await sleep(opt['resume-gap'] ? Number(opt['resume-gap']) : 200);
      const s2 = await one(first + r + 1, sess);
      if (s2) sess = s2;
    }
  })();
} else {
  console.error('usage: tlspeer.js server|client ...');
  process.exit(2);
}
