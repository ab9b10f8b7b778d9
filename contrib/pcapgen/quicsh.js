// SPDX-License-Identifier: BSD-2-Clause
// quicsh.js: a QUIC "server" that gets only as far as the ServerHello.
//
// No QUIC server available here negotiates ML-KEM (Debian 12's ngtcp2 uses
// GnuTLS 3.7; Node's node:quic is not in the official builds), so this
// answers a real client's Initial packets by hand (RFC 9000 17.2.2, RFC 9001
// 5): it opens the client's Initials with keys from its first DCID,
// reassembles the ClientHello from the CRYPTO frames, performs a real
// X25519MLKEM768 key exchange against the client's key share (ML-KEM-768
// encapsulation + X25519, OpenSSL 3.5 in Node 24) and sends one protected
// server Initial: ACK + CRYPTO(ServerHello selecting the group). It never
// sends Handshake packets, so the connection does not complete; what a
// passive observer sees up to the ServerHello is what a hybrid-capable
// server would send.
//
//   node quicsh.js --host 198.18.0.20 --port 443 [--group 11ec] --ready FILE
'use strict';
const crypto = require('crypto');
const dgram = require('dgram');
const fs = require('fs');

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const GROUP = parseInt(args.group || '11ec', 16);
const SALT_V1 = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');
const log = (...a) => console.error('[quicsh]', ...a);

function expandLabel(secret, label, len) {
  const full = Buffer.from('tls13 ' + label);
  const info = Buffer.concat([Buffer.from([len >> 8, len & 255, full.length]), full, Buffer.from([0, 1])]);
  return crypto.createHmac('sha256', secret).update(info).digest().subarray(0, len);
}
function initialKeys(dcid, side) {
  const initial = crypto.createHmac('sha256', SALT_V1).update(dcid).digest();
  const secret = expandLabel(initial, side + ' in', 32);
  return { key: expandLabel(secret, 'quic key', 16), iv: expandLabel(secret, 'quic iv', 12),
           hp: expandLabel(secret, 'quic hp', 16) };
}
function hpMask(hp, sample) {
  const c = crypto.createCipheriv('aes-128-ecb', hp, null);
  return c.update(sample);
}
function nonce(iv, pn) {
  const n = Buffer.from(iv);
  for (let i = 0; i < 8; i++) n[11 - i] ^= Number((BigInt(pn) >> BigInt(8 * i)) & 255n);
  return n;
}
function varint(buf, i) {
  const len = 1 << (buf[i] >> 6);
  let v = buf[i] & 0x3f;
  for (let k = 1; k < len; k++) v = v * 256 + buf[i + k];
  return [v, i + len];
}
function encVarint(v) {
  if (v < 64) return Buffer.from([v]);
  if (v < 16384) return Buffer.from([0x40 | (v >> 8), v & 255]);
  return Buffer.from([0x80 | (v >>> 24), (v >> 16) & 255, (v >> 8) & 255, v & 255]);
}

// --- client side: open Initial packets, collect CRYPTO bytes ---
let conn = null; // { odcid, cscid, keys, crypto: Map(offset->byte), pns: Set }

function openDatagram(d, rinfo) {
  let i = 0;
  while (i < d.length && (d[i] & 0x80)) {
    const b0 = d[i];
    if (d.readUInt32BE(i + 1) !== 1) return;
    let j = i + 5;
    const dcid = d.subarray(j + 1, j + 1 + d[j]); j += 1 + d[j];
    const scid = d.subarray(j + 1, j + 1 + d[j]); j += 1 + d[j];
    const type = (b0 >> 4) & 3;
    if (type === 0) { let tl; [tl, j] = varint(d, j); j += tl; }
    let length; [length, j] = varint(d, j);
    const end = j + length;
    if (type !== 0) { i = end; continue; }
    if (!conn) {
      conn = { odcid: Buffer.from(dcid), cscid: Buffer.from(scid), keys: initialKeys(dcid, 'client'),
               skeys: initialKeys(dcid, 'server'), crypto: new Map(), pns: new Set(), rinfo, sent: false };
    }
    const k = conn.keys;
    const mask = hpMask(k.hp, d.subarray(j + 4, j + 20));
    const hb0 = b0 ^ (mask[0] & 0x0f);
    const pnl = (hb0 & 3) + 1;
    let pn = 0;
    const pnb = Buffer.alloc(pnl);
    for (let q = 0; q < pnl; q++) { pnb[q] = d[j + q] ^ mask[1 + q]; pn = pn * 256 + pnb[q]; }
    const aad = Buffer.concat([Buffer.from([hb0]), d.subarray(i + 1, j), pnb]);
    const ct = d.subarray(j + pnl, end - 16);
    const dec = crypto.createDecipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
    dec.setAAD(aad);
    dec.setAuthTag(d.subarray(end - 16, end));
    const plain = Buffer.concat([dec.update(ct), dec.final()]);
    conn.pns.add(pn);
    for (let q = 0; q < plain.length;) {
      let t; [t, q] = varint(plain, q);
      if (t === 0 || t === 1) continue;
      if (t === 2 || t === 3) {
        let n; [, q] = varint(plain, q); [, q] = varint(plain, q); [n, q] = varint(plain, q); [, q] = varint(plain, q);
        for (let r = 0; r < 2 * n + (t === 3 ? 3 : 0); r++) [, q] = varint(plain, q);
      } else if (t === 6) {
        let off, len; [off, q] = varint(plain, q); [len, q] = varint(plain, q);
        for (let r = 0; r < len; r++) if (!conn.crypto.has(off + r)) conn.crypto.set(off + r, plain[q + r]);
        q += len;
      } else {
        throw new Error('unexpected frame ' + t);
      }
    }
    i = end;
  }
}

function clientHello() {
  const c = conn.crypto;
  for (let o = 0; o < 4; o++) if (!c.has(o)) return null;
  const n = 4 + ((c.get(1) << 16) | (c.get(2) << 8) | c.get(3));
  for (let o = 0; o < n; o++) if (!c.has(o)) return null;
  const b = Buffer.alloc(n);
  for (let o = 0; o < n; o++) b[o] = c.get(o);
  return b;
}

// the key_share entry of `group` in a ClientHello message
function clientShare(ch, group) {
  let i = 4 + 2 + 32;
  i += 1 + ch[i];                       // session id
  i += 2 + ch.readUInt16BE(i);          // cipher suites
  i += 1 + ch[i];                       // compression
  const end = i + 2 + ch.readUInt16BE(i);
  i += 2;
  while (i < end) {
    const type = ch.readUInt16BE(i), len = ch.readUInt16BE(i + 2);
    if (type === 51) {
      for (let k = i + 6; k < i + 4 + len;) {
        const g = ch.readUInt16BE(k), kl = ch.readUInt16BE(k + 2);
        if (g === group) return ch.subarray(k + 4, k + 4 + kl);
        k += 4 + kl;
      }
    }
    i += 4 + len;
  }
  return null;
}

// X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem): client share = ML-KEM-768
// encapsulation key (1184) || X25519 public key (32); server share = ML-KEM
// ciphertext (1088) || X25519 public key (32).
function serverShare(share) {
  if (GROUP !== 0x11ec || share.length !== 1216) throw new Error('need an X25519MLKEM768 share');
  const spkiPrefix = Buffer.from('308204b2300b0609608648016503040402038204a100', 'hex');
  const ek = crypto.createPublicKey({ key: Buffer.concat([spkiPrefix, share.subarray(0, 1184)]),
                                      format: 'der', type: 'spki' });
  const { ciphertext } = crypto.encapsulate(ek);
  const x = crypto.generateKeyPairSync('x25519');
  const xpub = x.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const xclient = crypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'),
                                                              share.subarray(1184)]), format: 'der', type: 'spki' });
  crypto.diffieHellman({ privateKey: x.privateKey, publicKey: xclient }); // the real X25519 half
  return Buffer.concat([Buffer.from(ciphertext), xpub]);
}

function serverHello(ch) {
  const share = clientShare(ch, GROUP);
  if (!share) throw new Error('client sent no share for ' + GROUP.toString(16));
  const ks = serverShare(share);
  const ext = Buffer.concat([
    Buffer.from([0, 43, 0, 2, 3, 4]),                                  // supported_versions: TLS 1.3
    Buffer.from([0, 51, (ks.length + 4) >> 8, (ks.length + 4) & 255, GROUP >> 8, GROUP & 255,
                 ks.length >> 8, ks.length & 255]), ks,
  ]);
  const sidLen = ch[4 + 2 + 32];
  const sid = ch.subarray(4 + 2 + 32 + 1, 4 + 2 + 32 + 1 + sidLen);
  const body = Buffer.concat([Buffer.from([3, 3]), crypto.randomBytes(32), Buffer.from([sidLen]), sid,
                              Buffer.from([0x13, 0x01, 0]), Buffer.from([ext.length >> 8, ext.length & 255]), ext]);
  return Buffer.concat([Buffer.from([2, body.length >> 16, (body.length >> 8) & 255, body.length & 255]), body]);
}

function serverInitial(sh) {
  const pns = [...conn.pns].sort((a, b) => a - b);
  const largest = pns[pns.length - 1];
  // ACK of every client packet number seen (contiguous from the smallest)
  const ack = Buffer.concat([Buffer.from([2]), encVarint(largest), encVarint(0), encVarint(0),
                             encVarint(largest - pns[0])]);
  const payload = Buffer.concat([ack, Buffer.from([6]), encVarint(0), encVarint(sh.length), sh]);
  const scid = crypto.randomBytes(8);
  const pn = 0, pnl = 2;
  const length = pnl + payload.length + 16;
  const hdr = Buffer.concat([Buffer.from([0xc0 | (pnl - 1), 0, 0, 0, 1, conn.cscid.length]), conn.cscid,
                             Buffer.from([scid.length]), scid, Buffer.from([0]),
                             Buffer.from([0x40 | (length >> 8), length & 255]), Buffer.from([0, pn])]);
  const k = conn.skeys;
  const enc = crypto.createCipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
  enc.setAAD(hdr);
  const ct = Buffer.concat([enc.update(payload), enc.final(), enc.getAuthTag()]);
  const pkt = Buffer.concat([hdr, ct]);
  const pnOff = hdr.length - pnl;
  const mask = hpMask(k.hp, pkt.subarray(pnOff + 4, pnOff + 20));
  pkt[0] ^= mask[0] & 0x0f;
  for (let q = 0; q < pnl; q++) pkt[pnOff + q] ^= mask[1 + q];
  return pkt;
}

const sock = dgram.createSocket(args.host && args.host.includes(':') ? 'udp6' : 'udp4');
sock.on('message', (d, rinfo) => {
  try {
    if (conn && conn.sent) return; // the client's later packets are not answered
    openDatagram(d, rinfo);
    const ch = conn && clientHello();
    if (!ch) return;
    const sh = serverHello(ch);
    const pkt = serverInitial(sh);
    conn.sent = true;
    sock.send(pkt, rinfo.port, rinfo.address, () => log(`ServerHello ${sh.length} bytes, group 0x${GROUP.toString(16)}, datagram ${pkt.length} bytes`));
  } catch (e) {
    log('error:', e.message);
  }
});
sock.bind(parseInt(args.port || '443', 10), args.host, () => {
  if (args.ready) fs.writeFileSync(args.ready, '');
  log('listening on', args.host, args.port);
});
