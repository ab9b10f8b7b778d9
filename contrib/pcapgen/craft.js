// SPDX-License-Identifier: BSD-2-Clause
'use strict';
// kexwatch pcapgen: hand-crafted TLS 1.3 hellos over real TCP sockets, for
// what no available stack produces by itself.
//
//   node craft.js client --host H --port P --sni NAME --groups LIST --shares LIST [--grease]
//       Sends one Chrome-like ClientHello (GREASE in cipher suites, extensions,
//       supported_groups, key_share and supported_versions when --grease),
//       waits for the ServerHello (or HelloRetryRequest / alert) and closes.
//       Shares for 0x11ec (X25519MLKEM768) and 0x001d are real keys generated
//       with node:crypto, so a real OpenSSL 3.5 server accepts them; other
//       groups (e.g. 0x6399) get random bytes of the right length.
//   node craft.js server --port P --group 0x6399 [--ready FILE]
//       Fake server: reads one ClientHello and answers with a ServerHello that
//       selects --group (random key share of the right length) plus a
//       ChangeCipherSpec, then closes after the client does.  Never completes a
//       handshake; only meant to put a given selected group on the wire.
const net = require('net');
const fs = require('fs');
const crypto = require('crypto');

const args = {};
const argv = process.argv.slice(2);
const role = argv[0];
for (let i = 1; i < argv.length; i++) {
  if (argv[i].startsWith('--')) {
    const n = argv[i + 1];
    if (n === undefined || n.startsWith('--')) args[argv[i].slice(2)] = true;
    else { args[argv[i].slice(2)] = n; i++; }
  }
}

const u8 = (n) => Buffer.from([n & 0xff]);
const u16 = (n) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u24 = (n) => Buffer.from([(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
const vec8 = (b) => Buffer.concat([u8(b.length), b]);
const vec16 = (b) => Buffer.concat([u16(b.length), b]);
const ext = (type, body) => Buffer.concat([u16(type), vec16(body)]);
const list16 = (vals) => Buffer.concat(vals.map(u16));
const parseList = (s) => String(s).split(',').filter(Boolean).map((x) => parseInt(x, 16));

// ServerHello key_share lengths (client share lengths in CH_LEN)
const CH_LEN = { 0x001d: 32, 0x0017: 65, 0x0018: 97, 0x11ec: 1216, 0x11eb: 65 + 1184, 0x11ed: 97 + 1568,
  0x0200: 800, 0x0201: 1184, 0x0202: 1568, 0x6399: 32 + 1184, 0x639a: 65 + 1184 };
const SH_LEN = { 0x001d: 32, 0x0017: 65, 0x0018: 97, 0x11ec: 1088 + 32, 0x11eb: 65 + 1088, 0x11ed: 97 + 1568,
  0x0200: 768, 0x0201: 1088, 0x0202: 1568, 0x6399: 32 + 1088, 0x639a: 65 + 1088 };

function rawPub(type, opts) {
  const { publicKey } = crypto.generateKeyPairSync(type, opts);
  return publicKey.export({ type: 'spki', format: 'der' });
}
function share(g) {
  if (g === 0x001d) return rawPub('x25519').subarray(-32);
  if (g === 0x11ec) {  // ML-KEM-768 encapsulation key || X25519 public key
    return Buffer.concat([rawPub('ml-kem-768').subarray(-1184), rawPub('x25519').subarray(-32)]);
  }
  if (g === 0x0017) return rawPub('ec', { namedCurve: 'P-256' }).subarray(-65);
  if ((g & 0x0f0f) === 0x0a0a) return Buffer.from([0]);   // GREASE share: 1 byte
  return crypto.randomBytes(CH_LEN[g] || 32);
}

function clientHello() {
  const grease = !!args.grease;
  const G = { cipher: 0x3a3a, ext1: 0x9a9a, group: 0x4a4a, ver: 0x7a7a, ext2: 0xeaea };
  const groups = parseList(args.groups || '11ec,001d,0017,0018');
  const shares = parseList(args.shares || '11ec,001d');
  const ciphers = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8];
  const sni = Buffer.from(args.sni || 'craft.kx.test');
  const exts = [];
  if (grease) exts.push(ext(G.ext1, Buffer.alloc(0)));
  exts.push(ext(0x0000, vec16(Buffer.concat([u8(0), vec16(sni)]))));
  exts.push(ext(0x0017, Buffer.alloc(0)));
  exts.push(ext(0xff01, Buffer.from([0])));
  exts.push(ext(0x000a, vec16(list16((grease ? [G.group] : []).concat(groups)))));
  exts.push(ext(0x000b, Buffer.from([1, 0])));
  exts.push(ext(0x0023, Buffer.alloc(0)));
  exts.push(ext(0x0010, vec16(Buffer.concat([vec8(Buffer.from('h2')), vec8(Buffer.from('http/1.1'))]))));
  exts.push(ext(0x0005, Buffer.from([1, 0, 0, 0, 0])));
  exts.push(ext(0x000d, vec16(list16([0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]))));
  exts.push(ext(0x0012, Buffer.alloc(0)));
  const ks = (grease ? [G.group] : []).concat(shares)
    .map((g) => { const k = share(g); return Buffer.concat([u16(g), vec16(k)]); });
  exts.push(ext(0x0033, vec16(Buffer.concat(ks))));
  exts.push(ext(0x002d, Buffer.from([1, 1])));
  exts.push(ext(0x002b, vec8(list16((grease ? [G.ver] : []).concat([0x0304, 0x0303])))));
  if (grease) exts.push(ext(G.ext2, Buffer.from([0])));
  const body = Buffer.concat([
    u16(0x0303), crypto.randomBytes(32), vec8(crypto.randomBytes(32)),
    vec16(list16((grease ? [G.cipher] : []).concat(ciphers))), Buffer.from([1, 0]),
    vec16(Buffer.concat(exts)),
  ]);
  const hs = Buffer.concat([u8(1), u24(body.length), body]);
  return Buffer.concat([u8(0x16), u16(0x0301), u16(hs.length), hs]);
}

// read TLS records from a socket; cb(type, payload) -> true to stop
function records(sock, cb) {
  let buf = Buffer.alloc(0);
  let stopped = false;
  sock.on('data', (d) => {
    if (stopped) return;
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 5) {
      const len = buf.readUInt16BE(3);
      if (buf.length < 5 + len) break;
      const type = buf[0];
      const payload = buf.subarray(5, 5 + len);
      buf = buf.subarray(5 + len);
      if (cb(type, payload)) { stopped = true; return; }
    }
  });
}

if (role === 'client') {
  const sock = net.connect({ host: args.host, port: Number(args.port) }, () => {
    sock.write(clientHello());
  });
  const info = { role: 'craft-client', sni: args.sni };
  const t = setTimeout(() => { info.error = 'timeout'; sock.destroy(); }, Number(args.timeout || 5000));
  records(sock, (type, p) => {
    if (type === 0x16 && p[0] === 2) {
      const sid = p[4 + 34];
      let off = 4 + 35 + sid;
      info.cipher = p.readUInt16BE(off).toString(16);
      off += 3;
      const end = off + 2 + p.readUInt16BE(off);
      off += 2;
      while (off < end) {
        const et = p.readUInt16BE(off), el = p.readUInt16BE(off + 2);
        if (et === 0x0033) info.group = '0x' + p.readUInt16BE(off + 4).toString(16).padStart(4, '0');
        off += 4 + el;
      }
      info.hrr = p.subarray(6, 38).toString('hex').startsWith('cf21ad74');
      setTimeout(() => sock.end(), 50);  // let the rest of the server flight arrive, then close
      return true;
    }
    if (type === 0x15) { info.alert = p.toString('hex'); sock.end(); return true; }
    return false;
  });
  sock.on('error', (e) => { info.error = e.code; });
  sock.on('close', () => { clearTimeout(t); console.log(JSON.stringify(info)); });
} else if (role === 'server') {
  const group = parseInt(args.group, 16);
  const srv = net.createServer((sock) => {
    records(sock, (type, p) => {
      if (type !== 0x16 || p[0] !== 1) return false;
      const sid = p.subarray(4 + 35, 4 + 35 + p[4 + 34]);
      const exts = Buffer.concat([
        ext(0x002b, u16(0x0304)),
        ext(0x0033, Buffer.concat([u16(group), vec16(crypto.randomBytes(SH_LEN[group] || 32))])),
      ]);
      const body = Buffer.concat([u16(0x0303), crypto.randomBytes(32), vec8(sid), u16(0x1301), u8(0), vec16(exts)]);
      const hs = Buffer.concat([u8(2), u24(body.length), body]);
      sock.write(Buffer.concat([u8(0x16), u16(0x0303), u16(hs.length), hs,
        Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01])]));
      return true;
    });
    sock.on('end', () => sock.end());
    sock.on('error', () => {});
    sock.on('close', () => srv.close());
  });
  srv.listen({ port: Number(args.port), host: '::' }, () => {
    if (args.ready) fs.writeFileSync(args.ready, 'ready\n');
  });
} else {
  console.error('usage: craft.js client|server ...');
  process.exit(2);
}
