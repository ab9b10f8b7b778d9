/* SPDX-License-Identifier: BSD-2-Clause */
/* test_defrag.c: IPv4 / IPv6 fragment reassembly on hand-made fragments of
 * hand-made packets: every reassembled packet must equal the original byte
 * for byte, and every refusal must be counted where defrag.h says. */
#include <stdlib.h>

#include "kexwatch/decode.h"
#include "kexwatch/defrag.h"
#include "tap.h"

#define S 1000000ull /* one second in microseconds */

static uint8_t orig[70000];
static size_t orig_len;

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static unsigned csum(const uint8_t *b, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* IPv4 (id, protocol TCP, checksum right) + TCP header + `payload` bytes. */
static void orig4(size_t payload, uint16_t id, uint8_t src_last)
{
	uint8_t *b = orig;
	memset(b, 0, 40);
	b[0] = 0x45;
	put16(b + 2, (unsigned)(40 + payload));
	put16(b + 4, id);
	b[8] = 64;
	b[9] = 6;
	b[12] = 10; b[15] = src_last;
	b[16] = 10; b[19] = 2;
	put16(b + 10, csum(b, 20));
	put16(b + 20, 40000);
	put16(b + 22, 443);
	b[32] = 5 << 4;
	b[33] = 0x18;
	for (size_t i = 0; i < payload; i++)
		b[40 + i] = (uint8_t)(i * 7 + 3);
	orig_len = 40 + payload;
}

/* IPv6 [+ hop-by-hop] + UDP to 443 + `payload` bytes. */
static void orig6(size_t payload, bool hbh)
{
	uint8_t *b = orig;
	size_t h = hbh ? 48 : 40;
	memset(b, 0, h + 8);
	b[0] = 0x60;
	put16(b + 4, (unsigned)(h - 40 + 8 + payload));
	b[6] = hbh ? 0 : 17;
	b[7] = 64;
	b[8] = 0xfd; b[23] = 1;
	b[24] = 0xfd; b[39] = 2;
	if (hbh) {
		b[40] = 17;
		b[42] = 1; /* PadN, 4 bytes */
		b[43] = 4;
	}
	put16(b + h, 50000);
	put16(b + h + 2, 443);
	put16(b + h + 4, (unsigned)(8 + payload));
	for (size_t i = 0; i < payload; i++)
		b[h + 8 + i] = (uint8_t)(i * 13 + 1);
	orig_len = h + 8 + payload;
}

/* A fragment of orig: data [off, off + len) of what follows the header. */
struct frag {
	uint8_t b[2000];
	size_t n;
};

static void frag4(struct frag *f, size_t off, size_t len, bool more)
{
	memcpy(f->b, orig, 20);
	memcpy(f->b + 20, orig + 20 + off, len);
	f->n = 20 + len;
	put16(f->b + 2, (unsigned)f->n);
	put16(f->b + 6, (unsigned)((more ? 0x2000 : 0) | off / 8));
	put16(f->b + 10, 0);
	put16(f->b + 10, csum(f->b, 20));
}

static void frag6(struct frag *f, bool hbh, uint32_t id, size_t off, size_t len, bool more)
{
	size_t h = hbh ? 48 : 40;
	memcpy(f->b, orig, h);
	f->b[hbh ? 40 : 6] = 44;
	uint8_t *fh = f->b + h;
	fh[0] = 17;
	fh[1] = 0;
	put16(fh + 2, (unsigned)(off | (more ? 1 : 0)));
	put16(fh + 4, id >> 16);
	put16(fh + 6, id & 0xffff);
	memcpy(f->b + h + 8, orig + h + off, len);
	f->n = h + 8 + len;
	put16(f->b + 4, (unsigned)(f->n - 40));
}

static struct kx_counters c;
static const uint8_t *out;
static uint32_t out_len;

/* Decodes the fragment and gives it to d at time ts: 1 when it completed a
 * datagram, 0 when not, -1 when it did not decode as a fragment. */
static int add(struct kx_defrag *d, const struct frag *f, uint64_t ts)
{
	struct kx_pkt p;
	if (kx_decode(KX_LINK_RAW, f->b, (uint32_t)f->n, &p, &c) != KX_DECODE_FRAGMENT)
		return -1;
	p.ts_us = ts;
	return kx_defrag_add(d, &p, &c, &out, &out_len) ? 1 : 0;
}

static bool is_orig(void)
{
	return out_len == orig_len && memcmp(out, orig, orig_len) == 0;
}

int main(void)
{
	struct kx_defrag *d = kx_defrag_new(1 << 20, 64, 30);
	struct frag f[40];
	struct kx_pkt p;
	CHECK(d != NULL, "defragmenter allocated");
	CHECK(kx_defrag_new(KX_DEFRAG_BLOCK - 1, 4, 30) == NULL && kx_defrag_new(1 << 20, 0, 30) == NULL,
	      "no pool or no datagrams refused");

	/* IPv4 in order: 1800 bytes of TCP in 552-byte fragments (an MTU of 576). */
	orig4(1800 - 20, 0x1111, 1);
	size_t data = orig_len - 20;
	int n = 0;
	for (size_t off = 0; off < data; off += 552, n++)
		frag4(&f[n], off, data - off < 552 ? data - off : 552, data - off > 552);
	int r = 0;
	for (int i = 0; i < n; i++)
		r = add(d, &f[i], 10 * S + (uint64_t)i);
	CHECK(n == 4 && r == 1 && is_orig(), "IPv4, 4 fragments in order: the original packet");
	CHECK(kx_decode_datagram(out, out_len, &p, &c) == KX_DECODE_OK && p.dport == 443 &&
		      p.payload_len == orig_len - 40, "the reassembled packet decodes");
	CHECK(c.defrag_fragments == 4 && c.defrag_reassembled == 1 && kx_defrag_pending(d) == 0,
	      "counted: 4 fragments, 1 datagram, none pending");

	/* Reverse order; the last fragment first says where the datagram ends. */
	orig4(1800 - 20, 0x2222, 1);
	for (int i = n - 1; i >= 0; i--) {
		frag4(&f[i], (size_t)i * 552, i == n - 1 ? data - (size_t)i * 552 : 552, i < n - 1);
		r = add(d, &f[i], 11 * S);
		if (i > 0 && r != 0)
			break;
	}
	CHECK(r == 1 && is_orig(), "IPv4, reverse order: the original packet");

	/* Middle first, then first, then last. */
	orig4(1000, 0x2323, 1);
	data = orig_len - 20;
	frag4(&f[0], 0, 400, true);
	frag4(&f[1], 400, 400, true);
	frag4(&f[2], 800, data - 800, false);
	CHECK(add(d, &f[1], 12 * S) == 0 && add(d, &f[0], 12 * S) == 0 &&
		      add(d, &f[2], 12 * S) == 1 && is_orig(), "IPv4, shuffled: the original packet");

	/* Duplicate: ignored and counted; the datagram still completes. */
	orig4(1000, 0x3333, 1);
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 512, data - 512, false);
	uint64_t dups = c.defrag_duplicates;
	CHECK(add(d, &f[0], 13 * S) == 0 && add(d, &f[0], 13 * S) == 0 &&
		      c.defrag_duplicates == dups + 1 && add(d, &f[1], 13 * S) == 1 && is_orig(),
	      "IPv4 duplicate fragment ignored, counted, datagram whole");

	/* IPv4 overlap: the first copy of a byte wins, conflicts are counted. */
	orig4(1000, 0x4444, 1);
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 256, 512, true);        /* overlaps [256, 512) with other bytes */
	memset(f[1].b + 20, 0xee, 256);
	frag4(&f[2], 768, data - 768, false);
	uint64_t ov = c.defrag_overlaps, cf = c.defrag_overlap_conflicts;
	CHECK(add(d, &f[0], 14 * S) == 0 && add(d, &f[1], 14 * S) == 0 &&
		      add(d, &f[2], 14 * S) == 1 && is_orig() && c.defrag_overlaps == ov + 1 &&
		      c.defrag_overlap_conflicts == cf + 1,
	      "IPv4 overlap with other bytes: first copy kept, conflict counted");
	/* The same with the later fragment arriving first: its bytes win then. */
	frag4(&f[0], 0, 512, true);
	memset(f[0].b + 20 + 256, 0xee, 256);
	frag4(&f[1], 256, 512, true);
	frag4(&f[2], 768, data - 768, false);
	CHECK(add(d, &f[1], 15 * S) == 0 && add(d, &f[0], 15 * S) == 0 &&
		      add(d, &f[2], 15 * S) == 1 && is_orig() && c.defrag_overlap_conflicts == cf + 2,
	      "IPv4 overlap, later fragment first: its bytes kept");
	/* A fragment that only overlaps with the same bytes adds what is new. */
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 256, 512, true);
	frag4(&f[2], 768, data - 768, false);
	CHECK(add(d, &f[0], 15 * S) == 0 && add(d, &f[1], 15 * S) == 0 &&
		      add(d, &f[2], 15 * S) == 1 && is_orig() && c.defrag_overlaps == ov + 3 &&
		      c.defrag_overlap_conflicts == cf + 2,
	      "IPv4 overlap with the same bytes: counted, no conflict");

	/* The key: protocol, source, VLAN and tunnel keep datagrams apart. */
	orig4(1000, 0x5555, 1);
	frag4(&f[0], 0, 512, true);
	orig[9] = 17; /* the same id, another protocol */
	put16(orig + 10, 0);
	put16(orig + 10, csum(orig, 20));
	frag4(&f[1], 512, data - 512, false);
	CHECK(add(d, &f[0], 16 * S) == 0 && add(d, &f[1], 16 * S) == 0 && kx_defrag_pending(d) == 2,
	      "IPv4: the same id with another protocol is another datagram");
	{
		struct kx_pkt a, b;
		orig4(1000, 0x5656, 1);
		frag4(&f[0], 0, 512, true);
		frag4(&f[1], 512, data - 512, false);
		kx_decode(KX_LINK_RAW, f[0].b, (uint32_t)f[0].n, &a, &c);
		kx_decode(KX_LINK_RAW, f[1].b, (uint32_t)f[1].n, &b, &c);
		a.ts_us = b.ts_us = 16 * S;
		a.tunnel = b.tunnel = KX_TUN_VXLAN;
		a.tunnel_id = 42;
		b.tunnel_id = 43;
		CHECK(!kx_defrag_add(d, &a, &c, &out, &out_len) &&
			      !kx_defrag_add(d, &b, &c, &out, &out_len),
		      "fragments in VNI 42 and VNI 43 do not combine");
		b.tunnel_id = 42;
		b.vlan = 9;
		CHECK(!kx_defrag_add(d, &b, &c, &out, &out_len), "nor in another VLAN");
		b.vlan = 0;
		CHECK(kx_defrag_add(d, &b, &c, &out, &out_len) && is_orig(),
		      "the same VNI and VLAN do");
	}

	/* Timeout: a datagram whose last fragment comes 31 s after its first is
	 * dropped before; the late fragment starts a new one. */
	kx_defrag_flush(d, &c);
	uint64_t inc = c.defrag_incomplete;
	orig4(1000, 0x6666, 1);
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 512, data - 512, false);
	CHECK(add(d, &f[0], 100 * S) == 0 && add(d, &f[1], 131 * S) == 0 &&
		      c.defrag_incomplete == inc + 1 && kx_defrag_pending(d) == 1,
	      "timed out after 30 s, counted; the late fragment waits alone");
	CHECK(add(d, &f[0], 131 * S) == 1 && is_orig(), "within 30 s it completes");
	CHECK(add(d, &f[0], 200 * S) == 0, "a lone fragment");
	kx_defrag_expire(d, 229 * S, &c);
	CHECK(kx_defrag_pending(d) == 1, "kept at 29 s");
	kx_defrag_expire(d, 231 * S, &c);
	CHECK(kx_defrag_pending(d) == 0 && c.defrag_incomplete == inc + 2,
	      "kx_defrag_expire drops it at 31 s");

	/* Too big: a fragment reaching past 65535 bytes drops its datagram. */
	orig4(1000, 0x7777, 1);
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 65520, 16, false); /* data up to 65536: 65556 bytes with the header */
	uint64_t big = c.defrag_too_big;
	CHECK(add(d, &f[0], 300 * S) == 0 && add(d, &f[1], 300 * S) == 0 &&
		      c.defrag_too_big == big + 1 && kx_defrag_pending(d) == 0,
	      "IPv4 fragment past 65535 bytes: datagram dropped, counted");
	/* The largest datagram there is: 65535 bytes in 45 fragments of 1480. */
	orig4(65535 - 40, 0x7878, 1);
	data = orig_len - 20;
	r = 0;
	int nf = 0;
	for (size_t off = 0; off < data && r == 0; off += 1480, nf++) {
		struct frag big1;
		frag4(&big1, off, data - off < 1480 ? data - off : 1480, data - off > 1480);
		r = add(d, &big1, 301 * S);
	}
	CHECK(r == 1 && is_orig() && nf == 45, "a 65535-byte datagram in 45 fragments");

	/* Malformed: a fragment with more to come must carry a multiple of 8. */
	orig4(1000, 0x8888, 1);
	data = orig_len - 20;
	frag4(&f[0], 0, 500, true);
	uint64_t mal = c.defrag_malformed;
	CHECK(add(d, &f[0], 302 * S) == 0 && c.defrag_malformed == mal + 1 &&
		      kx_defrag_pending(d) == 0, "non-last fragment of 500 bytes refused, counted");
	/* Two last fragments that disagree on the end drop the datagram. */
	frag4(&f[0], 0, 512, true);
	frag4(&f[1], 512, data - 512, false);
	frag4(&f[2], 512, data - 520, false);
	CHECK(add(d, &f[2], 303 * S) == 0 && add(d, &f[1], 303 * S) == 0 &&
		      c.defrag_malformed == mal + 2 && kx_defrag_pending(d) == 0,
	      "conflicting ends: datagram dropped, counted");
	kx_defrag_flush(d, &c);

	/* Too many holes: 25 disjoint pieces. */
	orig4(60000, 0x9999, 1);
	uint64_t drops = c.defrag_memcap_drops;
	r = 0;
	for (int i = 0; i < KX_DEFRAG_MAX_HOLES + 1; i++) {
		struct frag h;
		frag4(&h, (size_t)i * 2048, 8, true);
		r |= add(d, &h, 304 * S);
	}
	CHECK(r == 0 && c.defrag_memcap_drops == drops + 1 && kx_defrag_pending(d) == 0,
	      "%d holes: datagram dropped, counted", KX_DEFRAG_MAX_HOLES + 1);
	kx_defrag_free(d);

	/* Memory cap: two 1 KiB blocks. A second datagram needing blocks evicts
	 * the first; then it completes. */
	d = kx_defrag_new(2 * KX_DEFRAG_BLOCK, 8, 30);
	orig4(1000, 0xaaaa, 1);
	frag4(&f[0], 0, 512, true);        /* header block + data block 0 */
	struct frag other[2];
	orig4(2000, 0xbbbb, 1);             /* data blocks 0 and 1 */
	data = orig_len - 20;
	frag4(&other[0], 0, 512, true);
	frag4(&other[1], 512, data - 512, false);
	drops = c.defrag_memcap_drops;
	CHECK(add(d, &f[0], 400 * S) == 0 && add(d, &other[0], 400 * S) == 0 &&
		      c.defrag_memcap_drops == drops + 1 && kx_defrag_pending(d) == 1,
	      "memcap: the older datagram is dropped for room, counted");
	CHECK(add(d, &other[1], 400 * S) == 0 && c.defrag_memcap_drops == drops + 2 &&
		      kx_defrag_pending(d) == 0,
	      "a datagram larger than the whole cap is dropped, counted");
	kx_defrag_free(d);
	d = kx_defrag_new(3 * KX_DEFRAG_BLOCK, 8, 30);
	CHECK(add(d, &other[0], 401 * S) == 0 && add(d, &other[1], 401 * S) == 1 && is_orig(),
	      "with three blocks it fits");
	kx_defrag_free(d);

	/* Max datagrams: the third of two slots evicts the oldest. */
	d = kx_defrag_new(1 << 20, 2, 30);
	drops = c.defrag_memcap_drops;
	for (uint16_t id = 1; id <= 3; id++) {
		orig4(1000, id, 1);
		frag4(&f[id], 0, 512, true);
		add(d, &f[id], 500 * S);
	}
	CHECK(kx_defrag_pending(d) == 2 && c.defrag_memcap_drops == drops + 1,
	      "max datagrams: the oldest is dropped, counted");
	orig4(1000, 1, 1);
	data = orig_len - 20;
	frag4(&f[0], 512, data - 512, false);
	CHECK(add(d, &f[0], 500 * S) == 0, "the dropped one does not complete");
	orig4(1000, 3, 1);
	frag4(&f[0], 512, data - 512, false);
	CHECK(add(d, &f[0], 500 * S) == 1 && is_orig(), "the newest one does");
	kx_defrag_free(d);

	/* ---- IPv6 ---- */
	d = kx_defrag_new(1 << 20, 64, 60);
	/* A UDP datagram of 1400 bytes after a hop-by-hop header, over an MTU
	 * of 1280: the unfragmentable part is kept, Next Header restored. */
	orig6(1400, true);
	data = orig_len - 48;
	frag6(&f[0], true, 0x01020304, 0, 1224, true);
	frag6(&f[1], true, 0x01020304, 1224, data - 1224, false);
	CHECK(add(d, &f[1], 600 * S) == 0 && add(d, &f[0], 600 * S) == 1 && is_orig(),
	      "IPv6 with hop-by-hop, 2 fragments out of order: the original packet");
	CHECK(kx_decode_datagram(out, out_len, &p, &c) == KX_DECODE_OK && p.dport == 443 &&
		      p.proto == 17 && p.payload_len == 1400, "the reassembled IPv6 packet decodes");

	/* Exact duplicate: ignored. */
	orig6(1000, false);
	data = orig_len - 40;
	frag6(&f[0], false, 7, 0, 512, true);
	frag6(&f[1], false, 7, 512, data - 512, false);
	dups = c.defrag_duplicates;
	CHECK(add(d, &f[0], 601 * S) == 0 && add(d, &f[0], 601 * S) == 0 &&
		      c.defrag_duplicates == dups + 1 && add(d, &f[1], 601 * S) == 1 && is_orig(),
	      "IPv6 exact duplicate ignored, datagram whole");

	/* RFC 5722: an overlap drops the datagram and its later fragments. */
	frag6(&f[0], false, 8, 0, 512, true);
	frag6(&f[1], false, 8, 256, 512, true);
	frag6(&f[2], false, 8, 768, data - 768, false);
	frag6(&f[3], false, 8, 512, 256, true);
	uint64_t o6 = c.defrag_ip6_overlaps, re = c.defrag_reassembled;
	CHECK(add(d, &f[0], 602 * S) == 0 && add(d, &f[1], 602 * S) == 0 &&
		      c.defrag_ip6_overlaps == o6 + 1, "IPv6 overlap (same bytes, partly new) drops the datagram");
	CHECK(add(d, &f[3], 602 * S) == 0 && add(d, &f[2], 602 * S) == 0 && add(d, &f[0], 602 * S) == 0 &&
		      c.defrag_reassembled == re && c.defrag_ip6_overlaps == o6 + 1,
	      "the rest of its fragments complete nothing");
	kx_defrag_expire(d, 661 * S, &c);
	CHECK(kx_defrag_pending(d) == 1, "the refused datagram is remembered until its timeout");
	kx_defrag_expire(d, 663 * S, &c);
	CHECK(kx_defrag_pending(d) == 0, "the refused datagram goes at its timeout");
	CHECK(add(d, &f[0], 700 * S) == 0 && add(d, &f[3], 700 * S) == 0 &&
		      add(d, &f[2], 700 * S) == 1 && is_orig(),
	      "after it, the same id reassembles again");
	/* Fully covered but with other bytes: an overlap too. */
	frag6(&f[0], false, 9, 0, 512, true);
	frag6(&f[1], false, 9, 0, 512, true);
	f[1].b[48 + 100] ^= 1;
	CHECK(add(d, &f[0], 701 * S) == 0 && add(d, &f[1], 701 * S) == 0 &&
		      c.defrag_ip6_overlaps == o6 + 2, "IPv6 same range, other bytes: dropped");
	kx_defrag_flush(d, &c);
	CHECK(kx_defrag_pending(d) == 0, "flushed");

	/* Atomic fragment (RFC 6946): decoded as a packet, and a pending
	 * datagram with the same id is not touched. */
	frag6(&f[0], false, 10, 0, 512, true);
	CHECK(add(d, &f[0], 702 * S) == 0, "first fragment of id 10 pending");
	orig6(100, false);
	struct frag atomic;
	frag6(&atomic, false, 10, 0, orig_len - 40, false);
	CHECK(kx_decode(KX_LINK_RAW, atomic.b, (uint32_t)atomic.n, &p, &c) == KX_DECODE_OK &&
		      p.dport == 443 && p.payload_len == 100 && kx_defrag_pending(d) == 1,
	      "an atomic fragment with the same id is a plain packet");
	/* Too big for IPv6: offset 65528 with 16 bytes. */
	frag6(&f[1], false, 11, 0, 8, true);
	put16(f[1].b + 42, 65528 | 1);
	big = c.defrag_too_big;
	CHECK(add(d, &f[1], 703 * S) == 0 && c.defrag_too_big == big + 1,
	      "IPv6 fragment past 65535 bytes refused, counted");
	kx_defrag_flush(d, &c);
	kx_defrag_free(d);
	return tap_done();
}
