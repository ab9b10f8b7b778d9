/* test_decode.c: link, IP and TCP decoding on hand-built frames. */
#include "kexwatch/decode.h"
#include "tap.h"

struct wr {
	uint8_t b[512];
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

	/* Fragments are counted and skipped. */
	eth(&w, NULL, 0, 0x0800);
	ipv4_tcp(&w, 0, 10, 0);
	w.b[14 + 6] = 0x20; /* MF */
	CHECK(kx_decode(KX_LINK_ETHERNET, w.b, (uint32_t)w.n, &p, &c) == KX_DECODE_SKIP &&
		      c.skip_ip_fragment == 1, "first fragment skipped");

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
	return tap_done();
}
