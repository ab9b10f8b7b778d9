/* SPDX-License-Identifier: BSD-2-Clause */
/* test_decode.c: link, IP, tunnel and TCP decoding on hand-built frames. */
#include <stdlib.h>

#include "kexwatch/decode.h"
#include "kexwatch/flow.h"
#include "tap.h"

struct wr {
	uint8_t b[2048];
	size_t n;
};
static void put8(struct wr *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void put16(struct wr *w, unsigned v) { put8(w, v >> 8); put8(w, v); }
static void put32(struct wr *w, uint32_t v) { put16(w, v >> 16); put16(w, v & 0xffff); }
static void zeros(struct wr *w, size_t n) { memset(w->b + w->n, 0, n); w->n += n; }

static void eth(struct wr *w, const uint16_t *tags, int ntags, uint16_t type)
{
	w->n = 0;
	zeros(w, 12);
	for (int i = 0; i < ntags; i++) {
		put16(w, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
		put16(w, tags[i]);
	}
	put16(w, type);
}

/* IPv4 + TCP with `opt_words` of IP options and `payload` bytes. */
static void ipv4_tcp(struct wr *w, int opt_words, int payload, int total_adjust)
{
	int ihl = 5 + opt_words;
	put8(w, 0x40 | ihl);
	put8(w, 0);
	put16(w, (unsigned)(ihl * 4 + 20 + payload + total_adjust));
	put16(w, 1);
	put16(w, 0x4000); /* DF */
	put8(w, 64);
	put8(w, 6);
	put16(w, 0);
	put32(w, 0xc0000201);
	put32(w, 0xc0000202);
	for (int i = 0; i < opt_words; i++)
		put32(w, 0x01010101); /* NOPs */
	put16(w, 40000);
	put16(w, 443);
	put32(w, 1000);
	put32(w, 2000);
	put8(w, 5 << 4);
	put8(w, 0x18);
	put16(w, 65535);
	put32(w, 0);
	for (int i = 0; i < payload; i++)
		put8(w, 0x16);
}

/* ---- tunnels ---- */

/* Starts an IPv4 header for protocol `proto`; ip4_end fills its total length. */
static size_t ip4_begin(struct wr *w, uint8_t proto, uint32_t src, uint32_t dst)
{
	size_t at = w->n;
	put8(w, 0x45);
	put8(w, 0);
	put16(w, 0); /* total length, later */
	put16(w, 0x1234);
	put16(w, 0);
	put8(w, 64);
	put8(w, proto);
	put16(w, 0);
	put32(w, src);
	put32(w, dst);
	return at;
}
static void ip4_end(struct wr *w, size_t at)
{
	w->b[at + 2] = (uint8_t)((w->n - at) >> 8);
	w->b[at + 3] = (uint8_t)(w->n - at);
}
static size_t ip6_begin(struct wr *w, uint8_t nh, uint8_t src_last, uint8_t dst_last)
{
	size_t at = w->n;
	put32(w, 0x60000000);
	put16(w, 0); /* payload length, later */
	put8(w, nh);
	put8(w, 64);
	put16(w, 0xfd00); zeros(w, 13); put8(w, src_last);
	put16(w, 0xfd00); zeros(w, 13); put8(w, dst_last);
	return at;
}
static void ip6_end(struct wr *w, size_t at)
{
	w->b[at + 4] = (uint8_t)((w->n - at - 40) >> 8);
	w->b[at + 5] = (uint8_t)(w->n - at - 40);
}
static size_t udp_begin(struct wr *w, uint16_t dport)
{
	size_t at = w->n;
	put16(w, 50123);
	put16(w, dport);
	put16(w, 0);
	put16(w, 0);
	return at;
}
static void udp_end(struct wr *w, size_t at)
{
	w->b[at + 4] = (uint8_t)((w->n - at) >> 8);
	w->b[at + 5] = (uint8_t)(w->n - at);
}
/* Ethernet header without resetting the writer (an inner frame). */
static void eth_in(struct wr *w, uint16_t type)
{
	zeros(w, 12);
	put16(w, type);
}
/* The inner connection every tunnel carries: 10.0.0.1:40000 -> 10.0.0.2:443,
 * TCP with 4 bytes of payload; or the same over IPv6 (fd00::1 -> fd00::2). */
static void tcp_seg(struct wr *w)
{
	put16(w, 40000);
	put16(w, 443);
	put32(w, 1000);
	put32(w, 2000);
	put8(w, 5 << 4);
	put8(w, 0x18);
	put16(w, 65535);
	put32(w, 0);
	put32(w, 0x16030100);
}
static void inner4(struct wr *w)
{
	size_t at = ip4_begin(w, 6, 0x0a000001, 0x0a000002);
	tcp_seg(w);
	ip4_end(w, at);
}
static void inner6(struct wr *w)
{
	size_t at = ip6_begin(w, 6, 1, 2);
	tcp_seg(w);
	ip6_end(w, at);
}

/* The outer IPv4/UDP headers around a tunnel of `dport`; close with outer_udp_end. */
struct outer {
	size_t ip, udp;
};
static struct outer outer_udp(struct wr *w, uint16_t dport)
{
	struct outer o;
	eth(w, NULL, 0, 0x0800);
	o.ip = ip4_begin(w, 17, 0xc0000201, 0xc0000202);
	o.udp = udp_begin(w, dport);
	return o;
}
static void outer_udp_end(struct wr *w, struct outer o)
{
	udp_end(w, o.udp);
	ip4_end(w, o.ip);
}

/* A finished case: the frame, where its tunnel headers are, what it decodes to. */
struct tcase {
	const char *name;
	struct wr w;
	size_t hdr_from, hdr_to; /* tunnel header bytes: a cut there is "tunnel short" */
	int ip_version;
	const char *label;
};

static uint64_t sum_malformed(const struct kx_counters *c)
{
	return c->skip_link_unsupported + c->skip_vlan_depth + c->skip_ip_malformed +
	       c->skip_ip6_ext + c->skip_tcp_malformed + c->skip_tunnel_malformed +
	       c->skip_tunnel_depth;
}

/* Decodes the whole frame, then every shorter cut of it: a cut is counted as
 * truncated, never as malformed, and never read past. */
static void check_case(const struct tcase *t)
{
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_pkt p;
	char label[32];
	enum kx_decode_rc rc = kx_decode(KX_LINK_ETHERNET, t->w.b, (uint32_t)t->w.n, &p, &c);
	kx_tunnel_label(p.tunnel, p.tunnel_tag, label, sizeof(label));
	CHECK(rc == KX_DECODE_OK && p.ip_version == t->ip_version && p.sport == 40000 &&
		      p.dport == 443 && p.payload_len == 4 && !p.payload_truncated &&
		      p.dst[t->ip_version == 4 ? 3 : 15] == 2 && p.tunnel_depth >= 1 &&
		      strcmp(label, t->label) == 0 && c.pkt_tunneled == 1 && c.pkt_tcp == 1,
	      "%s: inner TCP decoded, label '%s'", t->name, label);
	bool all_cut_ok = true, hdr_cuts_short = true;
	for (size_t n = 0; n < t->w.n; n++) {
		/* A copy of exactly n bytes, so ASan sees any read beyond. */
		uint8_t *cut = malloc(n ? n : 1);
		memcpy(cut, t->w.b, n);
		memset(&c, 0, sizeof(c));
		rc = kx_decode(KX_LINK_ETHERNET, cut, (uint32_t)n, &p, &c);
		if (sum_malformed(&c) != 0 || rc == KX_DECODE_OTHER ||
		    (rc == KX_DECODE_OK && (!p.payload_truncated ||
					    p.payload + p.payload_len > cut + n)))
			all_cut_ok = false;
		if (n >= t->hdr_from && n < t->hdr_to && c.skip_tunnel_short != 1)
			hdr_cuts_short = false;
		free(cut);
	}
	CHECK(all_cut_ok, "%s: every cut is truncated, not malformed", t->name);
	CHECK(hdr_cuts_short, "%s: cuts in the tunnel header count skip_tunnel_short", t->name);
}

static void test_tunnels(void)
{
	static struct tcase t;
	struct outer o;
	size_t ip, ip2;

	/* VXLAN, VNI 42: flags I, reserved, VNI, reserved; inner Ethernet. */
	memset(&t, 0, sizeof(t));
	t.name = "VXLAN";
	o = outer_udp(&t.w, 4789);
	t.hdr_from = t.w.n;
	put8(&t.w, 0x08); zeros(&t.w, 3); put16(&t.w, 0); put8(&t.w, 42); put8(&t.w, 0);
	eth_in(&t.w, 0x0800);
	t.hdr_to = t.w.n; /* the inner Ethernet header is cut as a link header */
	t.hdr_to -= 14;
	inner4(&t.w);
	outer_udp_end(&t.w, o);
	t.ip_version = 4;
	t.label = "vxlan:42";
	check_case(&t);

	/* GENEVE, VNI 7, one option TLV (class 0x0102, type 0x80, 1 word), inner Ethernet. */
	memset(&t, 0, sizeof(t));
	t.name = "GENEVE";
	o = outer_udp(&t.w, 6081);
	t.hdr_from = t.w.n;
	put8(&t.w, 2); put8(&t.w, 0); put16(&t.w, 0x6558); put16(&t.w, 0); put8(&t.w, 7);
	put8(&t.w, 0);
	put16(&t.w, 0x0102); put8(&t.w, 0x80); put8(&t.w, 1); put32(&t.w, 0xdeadbeef);
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x86dd);
	inner6(&t.w);
	outer_udp_end(&t.w, o);
	t.ip_version = 6;
	t.label = "geneve:7";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr bad = t.w;
		bad.b[t.hdr_from + 11] = 2; /* the TLV claims 2 words: past opt_len */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_malformed == 1, "GENEVE: options not tiling opt_len are malformed");
		bad = t.w;
		bad.b[t.hdr_from] = 0x42; /* version 1 */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_malformed == 2, "GENEVE: unknown version is malformed");
		bad = t.w;
		bad.b[t.hdr_from + 2] = 0x88; /* protocol 0x8858: not IP, not Ethernet */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_OTHER,
		      "GENEVE: other protocol is other");
		bad = t.w;
		bad.b[t.hdr_from] = 0x00;
		bad.b[t.hdr_from + 2] = 0x08; /* GENEVE carrying IPv4 directly */
		bad.b[t.hdr_from + 3] = 0x00;
		bad.n = t.hdr_from + 8;
		ip = ip4_begin(&bad, 6, 0x0a000001, 0x0a000002);
		tcp_seg(&bad);
		ip4_end(&bad, ip);
		udp_end(&bad, o.udp);
		ip4_end(&bad, o.ip);
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_OK &&
			      p.ip_version == 4 && p.dport == 443 && p.tunnel == KX_TUN_GENEVE,
		      "GENEVE: protocol 0x0800 carries IPv4");
	}

	/* VXLAN without the I flag: malformed. */
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr w;
		o = outer_udp(&w, 4789);
		zeros(&w, 8);
		eth_in(&w, 0x0800);
		inner4(&w);
		outer_udp_end(&w, o);
		CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_malformed == 1, "VXLAN without the I flag is malformed");
	}

	/* GRE (RFC 2784) over IPv4, no options, inner IPv4. */
	memset(&t, 0, sizeof(t));
	t.name = "GRE";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0); put16(&t.w, 0x0800);
	t.hdr_to = t.w.n;
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "gre";
	check_case(&t);

	/* GRE with checksum, key 5 and sequence number (RFC 2890), inner IPv6. */
	memset(&t, 0, sizeof(t));
	t.name = "GRE C+K+S";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0xb000); put16(&t.w, 0x86dd);
	put16(&t.w, 0xffff); put16(&t.w, 0); /* checksum (not verified), reserved1 */
	put32(&t.w, 5);                       /* key */
	put32(&t.w, 77);                      /* sequence number */
	t.hdr_to = t.w.n;
	inner6(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 6;
	t.label = "gre:key=5";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr bad = t.w;
		bad.b[t.hdr_from + 1] = 0x01; /* version 1: PPTP */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_OTHER,
		      "GRE version 1 is other");
		bad = t.w;
		bad.b[t.hdr_from] |= 0x40; /* routing present (RFC 1701) */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_OTHER,
		      "GRE with routing is other");
	}

	/* gretap: GRE 0x6558 carrying Ethernet, with and without key. */
	memset(&t, 0, sizeof(t));
	t.name = "gretap";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0); put16(&t.w, 0x6558);
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x0800);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "gretap";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "gretap with key";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0x2000); put16(&t.w, 0x6558); put32(&t.w, 4000000000u);
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x0800);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "gretap:key=4000000000";
	check_case(&t);

	/* ERSPAN type II: GRE S + 0x88be, ver 1, session 7. */
	memset(&t, 0, sizeof(t));
	t.name = "ERSPAN II";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0x1000); put16(&t.w, 0x88be); put32(&t.w, 1);
	put16(&t.w, 0x1000 | 100); put16(&t.w, 0x0400 | 7); put32(&t.w, 0x00000abc);
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x0800);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "erspan:7";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr bad = t.w;
		bad.b[t.hdr_from + 8] = 0x20; /* ERSPAN version 2 under 0x88be */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_malformed == 1, "ERSPAN II with another version is malformed");
	}

	/* ERSPAN type I: 0x88be without a sequence number, Ethernet right after GRE. */
	memset(&t, 0, sizeof(t));
	t.name = "ERSPAN I";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0); put16(&t.w, 0x88be);
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x0800);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "erspan";
	check_case(&t);

	/* ERSPAN type III: 0x22eb, ver 2, session 9, timestamp, SGT, FT 0, O set
	 * with the platform-specific subheader. */
	memset(&t, 0, sizeof(t));
	t.name = "ERSPAN III";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0x1000); put16(&t.w, 0x22eb); put32(&t.w, 3);
	put16(&t.w, 0x2000); put16(&t.w, 9); put32(&t.w, 0x01020304);
	put16(&t.w, 0xabcd); put16(&t.w, 0x0001 | (5 << 4)); /* FT 0, HwID 5, O */
	put32(&t.w, 0x0c000000); put32(&t.w, 0x11223344);   /* platform subheader */
	t.hdr_to = t.w.n;
	eth_in(&t.w, 0x0800);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "erspan:9";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "ERSPAN III, FT 2 (IP)";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 47, 0xc0000201, 0xc0000202);
	t.hdr_from = t.w.n;
	put16(&t.w, 0x1000); put16(&t.w, 0x22eb); put32(&t.w, 3);
	put16(&t.w, 0x2000); put16(&t.w, 1023); put32(&t.w, 0x01020304);
	put16(&t.w, 0); put16(&t.w, 2 << 10);
	t.hdr_to = t.w.n;
	inner6(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 6;
	t.label = "erspan:1023";
	check_case(&t);

	/* IP in IP: ipip, 6in4, 4in6, 6in6 (no header of their own). */
	memset(&t, 0, sizeof(t));
	t.name = "IPv4 in IPv4";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 4, 0xc0000201, 0xc0000202);
	inner4(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "ipip";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "IPv6 in IPv4";
	eth(&t.w, NULL, 0, 0x0800);
	ip = ip4_begin(&t.w, 41, 0xc0000201, 0xc0000202);
	inner6(&t.w);
	ip4_end(&t.w, ip);
	t.ip_version = 6;
	t.label = "6in4";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "IPv4 in IPv6";
	eth(&t.w, NULL, 0, 0x86dd);
	ip = ip6_begin(&t.w, 4, 0x10, 0x20);
	inner4(&t.w);
	ip6_end(&t.w, ip);
	t.ip_version = 4;
	t.label = "4in6";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "IPv6 in IPv6";
	eth(&t.w, NULL, 0, 0x86dd);
	ip = ip6_begin(&t.w, 41, 0x10, 0x20);
	inner6(&t.w);
	ip6_end(&t.w, ip);
	t.ip_version = 6;
	t.label = "6in6";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr bad = t.w;
		bad.b[14 + 6] = 4; /* says IPv4 inside, holds IPv6 */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_ip_malformed == 1, "IP in IP with the wrong inner version is malformed");
	}

	/* MPLS: two labels (100 on top, 200 at the bottom), then IPv4; and IPv6. */
	memset(&t, 0, sizeof(t));
	t.name = "MPLS";
	eth(&t.w, NULL, 0, 0x8847);
	t.hdr_from = t.w.n;
	put32(&t.w, 100u << 12 | 64);
	put32(&t.w, 200u << 12 | 0x100 | 64);
	t.hdr_to = t.w.n + 1; /* the first nibble is looked at too */
	inner4(&t.w);
	t.ip_version = 4;
	t.label = "mpls:100";
	check_case(&t);
	memset(&t, 0, sizeof(t));
	t.name = "MPLS multicast, IPv6";
	eth(&t.w, NULL, 0, 0x8848);
	t.hdr_from = t.w.n;
	put32(&t.w, 1048575u << 12 | 0x100 | 1);
	t.hdr_to = t.w.n + 1;
	inner6(&t.w);
	t.ip_version = 6;
	t.label = "mpls:1048575";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr w;
		eth(&w, NULL, 0, 0x8847);
		put32(&w, 16u << 12 | 0x100 | 64);
		put32(&w, 0); /* a pseudowire control word: nibble 0 */
		eth_in(&w, 0x0800);
		inner4(&w);
		CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OTHER &&
			      c.pkt_tunneled == 0, "MPLS payload that is not IP is other");
		eth(&w, NULL, 0, 0x8847);
		for (int i = 0; i < KX_MAX_MPLS_LABELS; i++)
			put32(&w, (uint32_t)(i + 16) << 12 | 64);
		put32(&w, 99u << 12 | 0x100 | 64);
		inner4(&w);
		CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_depth == 1, "MPLS stack deeper than %d labels counted",
		      KX_MAX_MPLS_LABELS);
		eth(&w, NULL, 0, 0x8847);
		for (int i = 0; i < KX_MAX_MPLS_LABELS - 1; i++)
			put32(&w, (uint32_t)(i + 16) << 12 | 64);
		put32(&w, 99u << 12 | 0x100 | 64);
		inner4(&w);
		CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
			      p.tunnel_tag == 16 && p.tunnel_id == 0,
		      "MPLS stack of %d labels decoded", KX_MAX_MPLS_LABELS);
	}

	/* PPPoE session 0x1234: ver/type 0x11, code 0, length, PPP 0x0021 / 0x0057. */
	memset(&t, 0, sizeof(t));
	t.name = "PPPoE IPv4";
	eth(&t.w, NULL, 0, 0x8864);
	t.hdr_from = t.w.n;
	put8(&t.w, 0x11); put8(&t.w, 0); put16(&t.w, 0x1234); put16(&t.w, 2 + 20 + 24);
	put16(&t.w, 0x0021);
	t.hdr_to = t.w.n;
	inner4(&t.w);
	t.ip_version = 4;
	t.label = "pppoe:0x1234";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr pad = t.w;
		memset(pad.b + pad.n, 0xee, 6); /* Ethernet padding */
		pad.n += 6;
		pad.b[14 + 5] = 2 + 20 + 20; /* a PPPoE length short of the IP packet */
		CHECK(kx_decode(KX_LINK_ETHERNET, pad.b, (uint32_t)pad.n, &p, &c) == KX_DECODE_OK &&
			      p.payload_truncated && p.payload_len == 0,
		      "PPPoE length bounds the inner packet");
		pad.b[14 + 5] = 2 + 20 + 24;
		CHECK(kx_decode(KX_LINK_ETHERNET, pad.b, (uint32_t)pad.n, &p, &c) == KX_DECODE_OK &&
			      !p.payload_truncated && p.payload_len == 4,
		      "padding after the PPPoE payload is dropped");
	}
	memset(&t, 0, sizeof(t));
	t.name = "PPPoE IPv6";
	eth(&t.w, NULL, 0, 0x8864);
	t.hdr_from = t.w.n;
	put8(&t.w, 0x11); put8(&t.w, 0); put16(&t.w, 7); put16(&t.w, 2 + 40 + 24);
	put16(&t.w, 0x0057);
	t.hdr_to = t.w.n;
	inner6(&t.w);
	t.ip_version = 6;
	t.label = "pppoe:0x0007";
	check_case(&t);
	{
		struct kx_counters c;
		struct kx_pkt p;
		memset(&c, 0, sizeof(c));
		struct wr bad = t.w;
		bad.b[14 + 6] = 0xc0; /* PPP 0xc057: control traffic */
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_OTHER,
		      "PPPoE control protocol is other");
		bad = t.w;
		bad.b[14] = 0x21;
		CHECK(kx_decode(KX_LINK_ETHERNET, bad.b, (uint32_t)bad.n, &p, &c) == KX_DECODE_SKIP &&
			      c.skip_tunnel_malformed == 1, "PPPoE version 2 is malformed");
	}

	/* Nesting: IPv4 / GRE key 11 / IPv4 / IPIP / IPv4 / UDP / VXLAN 5 / Ethernet /
	 * MPLS 300 / inner IPv4 is four tunnels deep: decoded, the outermost names it. */
	struct wr w;
	struct kx_counters c;
	struct kx_pkt p;
	char label[32];
	memset(&c, 0, sizeof(c));
	eth(&w, NULL, 0, 0x0800);
	ip = ip4_begin(&w, 47, 0xc0000201, 0xc0000202);
	put16(&w, 0x2000); put16(&w, 0x0800); put32(&w, 11);
	ip2 = ip4_begin(&w, 4, 0xc0000203, 0xc0000204);
	size_t ip3 = ip4_begin(&w, 17, 0xc0000205, 0xc0000206);
	size_t udp = udp_begin(&w, 4789);
	put8(&w, 0x08); zeros(&w, 3); put16(&w, 0); put8(&w, 5); put8(&w, 0);
	eth_in(&w, 0x8847);
	put32(&w, 300u << 12 | 0x100 | 64);
	size_t in_at = w.n;
	inner4(&w);
	udp_end(&w, udp);
	ip4_end(&w, ip3);
	ip4_end(&w, ip2);
	ip4_end(&w, ip);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.tunnel_depth == KX_MAX_TUNNEL_DEPTH && p.tunnel == KX_TUN_GRE_KEY &&
		      p.tunnel_id == 11 && p.dport == 443 && c.pkt_tunneled == 1,
	      "four nested tunnels decoded, the outermost (gre:key=11) kept");
	/* One more: IPv4 in IPv4 inside the MPLS makes five. */
	struct wr w5;
	memcpy(w5.b, w.b, in_at);
	w5.n = in_at;
	size_t ip5 = ip4_begin(&w5, 4, 0xc0000207, 0xc0000208);
	inner4(&w5);
	ip4_end(&w5, ip5);
	{ /* grow the outer lengths by 20 */
		size_t outs[] = { 14, 14 + 20 + 8, 14 + 20 + 8 + 20 };
		for (int i = 0; i < 3; i++) {
			size_t a = outs[i];
			unsigned v = (unsigned)(w5.b[a + 2] << 8 | w5.b[a + 3]) + 20;
			w5.b[a + 2] = (uint8_t)(v >> 8);
			w5.b[a + 3] = (uint8_t)v;
		}
		unsigned v = (unsigned)(w5.b[udp + 4] << 8 | w5.b[udp + 5]) + 20;
		w5.b[udp + 4] = (uint8_t)(v >> 8);
		w5.b[udp + 5] = (uint8_t)v;
	}
	CHECK(kx_decode(KX_LINK_ETHERNET, w5.b, (uint32_t)w5.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_tunnel_depth == 1, "a fifth nested tunnel is refused and counted");

	/* The outer VLAN is the packet's; a tag inside a tunnel is not. */
	uint16_t tag = 100;
	eth(&w, &tag, 1, 0x0800);
	ip = ip4_begin(&w, 17, 0xc0000201, 0xc0000202);
	udp = udp_begin(&w, 4789);
	put8(&w, 0x08); zeros(&w, 3); put16(&w, 0); put8(&w, 42); put8(&w, 0);
	zeros(&w, 12); put16(&w, 0x8100); put16(&w, 5); put16(&w, 0x0800);
	inner4(&w);
	udp_end(&w, udp);
	ip4_end(&w, ip);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.vlan == 100 && p.tunnel_id == 42, "outer VLAN 100 kept, inner tag 5 not");

	/* The tunnel is in the flow key: the same inner connection in VNI 42 and
	 * 43 are two flows; both directions in one VNI are one. */
	struct wr v42, v43, back;
	o = outer_udp(&v42, 4789);
	put8(&v42, 0x08); zeros(&v42, 3); put16(&v42, 0); put8(&v42, 42); put8(&v42, 0);
	eth_in(&v42, 0x0800);
	inner4(&v42);
	outer_udp_end(&v42, o);
	v43 = v42;
	v43.b[14 + 20 + 8 + 6] = 43;
	back = v42;
	{
		size_t in = 14 + 20 + 8 + 8 + 14;
		uint8_t tmp[4];
		memcpy(tmp, back.b + in + 12, 4); /* swap inner addresses and ports */
		memcpy(back.b + in + 12, back.b + in + 16, 4);
		memcpy(back.b + in + 16, tmp, 4);
		memcpy(tmp, back.b + in + 20, 2);
		memcpy(back.b + in + 20, back.b + in + 22, 2);
		memcpy(back.b + in + 22, tmp, 2);
	}
	struct kx_flow_key k42, k43, kback;
	int d42, d43, dback;
	CHECK(kx_decode(KX_LINK_ETHERNET, v42.b, (uint32_t)v42.n, &p, &c) == KX_DECODE_OK, "VNI 42");
	kx_flow_key_from_pkt(&p, &k42, &d42);
	CHECK(kx_decode(KX_LINK_ETHERNET, v43.b, (uint32_t)v43.n, &p, &c) == KX_DECODE_OK, "VNI 43");
	kx_flow_key_from_pkt(&p, &k43, &d43);
	CHECK(kx_decode(KX_LINK_ETHERNET, back.b, (uint32_t)back.n, &p, &c) == KX_DECODE_OK &&
		      p.sport == 443, "VNI 42, other direction");
	kx_flow_key_from_pkt(&p, &kback, &dback);
	CHECK(memcmp(&k42, &k43, sizeof(k42)) != 0 && k42.tunnel_id == 42 && k43.tunnel_id == 43 &&
		      k42.tunnel == KX_TUN_VXLAN,
	      "VNI 42 and 43 give different flow keys");
	CHECK(memcmp(&k42, &kback, sizeof(k42)) == 0 && d42 != dback,
	      "both directions in VNI 42 give one key");
	/* MPLS labels differ per direction: the key has the kind, not the label. */
	struct wr m1, m2;
	eth(&m1, NULL, 0, 0x8847);
	put32(&m1, 100u << 12 | 0x100 | 64);
	memcpy(m1.b + m1.n, back.b + 14 + 20 + 8 + 8 + 14, back.n - (14 + 20 + 8 + 8 + 14));
	m1.n += back.n - (14 + 20 + 8 + 8 + 14);
	m2 = m1;
	m2.b[14 + 2] = 0x51; /* label 101: 0x00065 << 12 | S | TTL 64 */
	struct kx_flow_key km1, km2;
	int dm1, dm2;
	CHECK(kx_decode(KX_LINK_ETHERNET, m1.b, (uint32_t)m1.n, &p, &c) == KX_DECODE_OK &&
		      p.tunnel_tag == 100, "MPLS label 100 decoded");
	kx_flow_key_from_pkt(&p, &km1, &dm1);
	CHECK(kx_decode(KX_LINK_ETHERNET, m2.b, (uint32_t)m2.n, &p, &c) == KX_DECODE_OK &&
		      p.tunnel_tag == 101, "MPLS label 101 decoded");
	kx_flow_key_from_pkt(&p, &km2, &dm2);
	CHECK(memcmp(&km1, &km2, sizeof(km1)) == 0 && km1.tunnel == KX_TUN_MPLS && km1.tunnel_id == 0,
	      "MPLS: labels 100 and 101 give one key (kind only)");
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 4, 0);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.tunnel == KX_TUN_NONE && p.tunnel_id == 0 && p.tunnel_depth == 0,
	      "an untunnelled packet after tunnelled ones has no tunnel");

	/* Labels. */
	kx_tunnel_label(KX_TUN_NONE, 0, label, sizeof(label));
	CHECK_STR(label, "", "no tunnel: empty label");
	kx_tunnel_label(KX_TUN_GRE_KEY, 4294967295u, label, sizeof(label));
	CHECK_STR(label, "gre:key=4294967295", "largest GRE key fits");
	kx_tunnel_label(KX_TUN_MAX + 3, 1, label, sizeof(label));
	CHECK_STR(label, "", "unknown kind: empty label");
	kx_tunnel_label(KX_TUN_VXLAN, 16777215, label, 6);
	CHECK_STR(label, "vxlan", "a short buffer is cut and terminated");

	/* A reassembled datagram is decoded with its fragments' tunnel and VLAN. */
	struct wr d4;
	d4.n = 0;
	inner4(&d4);
	memset(&p, 0, sizeof(p));
	p.tunnel = KX_TUN_VXLAN;
	p.tunnel_id = 42;
	p.tunnel_depth = 1;
	p.vlan = 7;
	CHECK(kx_decode_datagram(d4.b, (uint32_t)d4.n, &p, &c) == KX_DECODE_OK && p.dport == 443 &&
		      p.tunnel == KX_TUN_VXLAN && p.tunnel_id == 42 && p.vlan == 7,
	      "kx_decode_datagram keeps the tunnel and VLAN");

	/* IPv6 Fragment header after a hop-by-hop header; an atomic fragment. */
	eth(&w, NULL, 0, 0x86dd);
	ip = ip6_begin(&w, 0, 1, 2);
	put8(&w, 44); put8(&w, 0); zeros(&w, 6);          /* hop-by-hop -> Fragment */
	put8(&w, 6); put8(&w, 0); put16(&w, 185 << 3 | 1); put32(&w, 0xcafe0001);
	zeros(&w, 16);
	ip6_end(&w, ip);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_FRAGMENT &&
		      p.frag.hdr_len == 48 && p.frag.nh_at == 40 && p.frag.offset == 1480 &&
		      p.frag.more && p.frag.id == 0xcafe0001 && p.proto == 6 &&
		      p.payload == w.b + 14 + 56 && p.payload_len == 16,
	      "IPv6 fragment after hop-by-hop: unfragmentable part and Next Header found");
	eth(&w, NULL, 0, 0x86dd);
	ip = ip6_begin(&w, 44, 1, 2);
	put8(&w, 6); put8(&w, 0); put16(&w, 0); put32(&w, 99); /* offset 0, M 0 */
	tcp_seg(&w);
	ip6_end(&w, ip);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.dport == 443 && p.payload_len == 4,
	      "IPv6 atomic fragment (RFC 6946) decoded as a plain packet");
	eth(&w, NULL, 0, 0x86dd);
	ip = ip6_begin(&w, 44, 1, 2);
	put8(&w, 17); put8(&w, 0); put16(&w, 1); put32(&w, 99); /* offset 0, M 1 */
	zeros(&w, 24);
	ip6_end(&w, ip);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_FRAGMENT &&
		      p.frag.hdr_len == 40 && p.frag.nh_at == 6 && p.proto == 17 &&
		      p.frag.offset == 0 && p.frag.more,
	      "IPv6 first fragment right after the fixed header");
}

int main(void)
{
	struct kx_counters c;
	memset(&c, 0, sizeof(c));
	struct kx_pkt p;
	struct wr w;

	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 10, 0);
	CHECK_EQ(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c), KX_DECODE_OK, "eth/ipv4/tcp");
	CHECK(p.ip_version == 4 && p.sport == 40000 && p.dport == 443 && p.seq == 1000 &&
		      p.payload_len == 10 && p.vlan == 0 && p.tcp_flags == 0x18,
	      "fields decoded");

	/* Ethernet padding after a short IP packet is not payload. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 0, 0);
	zeros(&w, 6);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.payload_len == 0,
	      "Ethernet padding trimmed by the IP length");

	/* IPv4 options. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 3, 5, 0);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.payload_len == 5 && p.dport == 443,
	      "IPv4 with 12 bytes of options");

	/* Stacked VLANs: 802.1ad outer 100, 802.1Q inner 200. */
	uint16_t tags[] = { 100, 200 };
	eth(&w, tags, 2, 0x0800);
	ipv4_tcp(&w, 0, 1, 0);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.vlan == 100,
	      "QinQ: outer VLAN id kept");
	uint16_t many[] = { 1, 2, 3, 4, 5 };
	eth(&w, many, 5, 0x0800);
	ipv4_tcp(&w, 0, 1, 0);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_vlan_depth == 1,
	      "five stacked tags refused and counted");

	/* Snap length cut inside the payload: decoded, marked truncated. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 100, 0);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n - 50, &p, &c) == KX_DECODE_OK &&
		      p.payload_truncated && p.payload_len == 50 && c.payload_truncated == 1,
	      "payload cut by the snap length");
	/* Cut inside the TCP header. */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, 14 + 20 + 10, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_tcp_short == 1,
	      "TCP header cut by the snap length");
	/* Cut inside the IP header, and inside the Ethernet header. */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, 14 + 10, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip_short == 1, "IP header truncated");
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, 10, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_link_short == 1, "Ethernet header truncated");

	/* Absurd lengths. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 10, -40); /* total length below the header sizes */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP,
	      "IP total length smaller than the headers");
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 10, 0);
	w.b[14 + 20 + 12] = 15 << 4; /* TCP data offset 60 > segment */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_tcp_malformed == 1,
	      "TCP data offset beyond the segment");
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 10, 0);
	w.b[14] = 0x43; /* IHL 3 */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip_malformed >= 1,
	      "IHL below 5");

	/* Total length 0 (TCP segmentation offload on the capturing host):
	 * the captured bytes are the packet, counted. IHL 5 with a 0 length
	 * would be malformed otherwise, so the fallback never hides one. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 300, 0);
	w.b[14 + 2] = 0;
	w.b[14 + 3] = 0;
	uint64_t malformed_before = c.skip_ip_malformed;
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.payload_len == 300 && !p.payload_truncated && c.ip_len_zero == 1 &&
		      c.skip_ip_malformed == malformed_before,
	      "IPv4 total length 0: captured length used, counted");
	CHECK(kx_decode(KX_LINK_RAW, w.b + 14, (uint32_t)w.n - 14 - 100, &p, &c) == KX_DECODE_OK &&
		      p.payload_len == 200 && p.l3_len == 20 + 20 + 200 && c.ip_len_zero == 2,
	      "IPv4 total length 0 on raw IP, cut capture: what was captured");
	w.b[14] = 0x44; /* IHL 4 with length 0: still malformed */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip_malformed == malformed_before + 1 && c.ip_len_zero == 2,
	      "IPv4 total length 0 with a bad IHL: malformed, not taken for TSO");

	/* Fragments are described for the defragmenter; one cut short is skipped. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 16, 0);
	w.b[14 + 6] = 0x20; /* MF */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_FRAGMENT &&
		      p.frag.more && p.frag.offset == 0 && p.frag.id == 1 && p.frag.hdr_len == 20 &&
		      p.proto == 6 && p.payload_len == 36 && p.payload == w.b + 14 + 20 &&
		      p.l3 == w.b + 14 && p.l3_len == 56,
	      "first fragment described");
	w.b[14 + 6] = 0x01; /* offset 256 * 8, last */
	w.b[14 + 7] = 0x00;
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_FRAGMENT &&
		      !p.frag.more && p.frag.offset == 2048,
	      "last fragment described");
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n - 1, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip_fragment == 1, "fragment cut by the snap length skipped");

	/* IPv6 with hop-by-hop and destination options before TCP. */
	w.n = 0;
	zeros(&w, 12);
	put16(&w, 0x86dd);
	put32(&w, 0x60000000);
	put16(&w, 8 + 16 + 20 + 4);
	put8(&w, 0);  /* hop-by-hop */
	put8(&w, 64);
	zeros(&w, 15); put8(&w, 1);
	zeros(&w, 15); put8(&w, 2);
	put8(&w, 60); put8(&w, 0); zeros(&w, 6);         /* HBH -> dest opts, 8 bytes */
	put8(&w, 6); put8(&w, 1); zeros(&w, 14);         /* dest opts -> TCP, 16 bytes */
	put16(&w, 50000); put16(&w, 443); put32(&w, 7); put32(&w, 0);
	put8(&w, 5 << 4); put8(&w, 0x02); put16(&w, 1000); put32(&w, 0);
	zeros(&w, 4);
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK &&
		      p.ip_version == 6 && p.sport == 50000 && p.tcp_flags == 0x02 &&
		      p.payload_len == 4 && p.src[15] == 1 && p.dst[15] == 2,
	      "IPv6 with two extension headers");
	w.b[14 + 40 + 8 + 1] = 200; /* dest opts length beyond the packet */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip6_ext == 1, "extension header length beyond the packet");

	/* Linux SLL, SLL2, raw, null. */
	struct wr ip;
	ip.n = 0;
	ipv4_tcp(&ip, 0, 3, 0);
	w.n = 0;
	zeros(&w, 14);
	put16(&w, 0x0800);
	memcpy(w.b + w.n, ip.b, ip.n);
	w.n += ip.n;
	CHECK(kx_decode(KX_LINK_SLL, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK && p.payload_len == 3,
	      "Linux cooked SLL");
	w.n = 0;
	put16(&w, 0x0800);
	zeros(&w, 18);
	memcpy(w.b + w.n, ip.b, ip.n);
	w.n += ip.n;
	CHECK(kx_decode(KX_LINK_SLL2, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK && p.payload_len == 3,
	      "Linux cooked SLL2");
	CHECK(kx_decode(KX_LINK_RAW, ip.b, (uint32_t)ip.n, &p, &c) == KX_DECODE_OK, "raw IP (101)");
	CHECK(kx_decode(KX_LINK_RAW_DLT, ip.b, (uint32_t)ip.n, &p, &c) == KX_DECODE_OK, "raw IP (12)");
	w.n = 0;
	put8(&w, 2); put8(&w, 0); put8(&w, 0); put8(&w, 0); /* AF_INET, little-endian host */
	memcpy(w.b + w.n, ip.b, ip.n);
	w.n += ip.n;
	CHECK(kx_decode(KX_LINK_NULL, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK, "BSD null, LE");
	w.b[0] = 0; w.b[3] = 2;
	CHECK(kx_decode(KX_LINK_NULL, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK, "BSD null, BE");
	CHECK(kx_decode(KX_LINK_LOOP, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OK, "OpenBSD loop");
	CHECK(kx_decode(147, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_link_unsupported == 1, "unknown link type counted");

	/* ARP is other, not an error. */
	eth(&w, NULL, 0, 0x0806);
	zeros(&w, 28);
	uint64_t other = c.pkt_other;
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_OTHER &&
		      c.pkt_other == other + 1, "ARP counted as other");

	test_tunnels();
	return tap_done();
}
