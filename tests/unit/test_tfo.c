/* SPDX-License-Identifier: BSD-2-Clause */
/* test_tfo.c: TCP Fast Open through the whole engine. A SYN's data starts at
 * ISN + 1; a server that accepts it acknowledges it in the SYN-ACK, one that
 * ignores it acknowledges ISN + 1 only and the client sends the bytes again.
 * Either way the ClientHello is reassembled once, its first packet is the SYN,
 * and the retransmitted copy adds no segment. The TLS records are a real
 * X25519MLKEM768 ClientHello and ServerHello (tests/data). */
#include <stdio.h>
#include <stdlib.h>

#include "kexwatch/decode.h"
#include "kexwatch/engine.h"
#include "tap.h"

static uint8_t ch[4096], sh[4096];
static size_t chlen, shlen;

static size_t load(const char *dir, const char *name, uint8_t *buf, size_t cap)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		exit(1);
	}
	size_t n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

#define CLI_ISN 0x10000000u
#define SRV_ISN 0x7ffffff0u /* the server's stream wraps past 2^31: serial arithmetic */

struct capture {
	struct kx_engine *e;
	uint64_t num;
	struct kx_hs rows[4];
	int n_rows;
};

static void on_row(void *ctx, const struct kx_hs *hs)
{
	struct capture *c = ctx;
	if (c->n_rows < 4)
		c->rows[c->n_rows] = *hs;
	c->n_rows++;
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* One raw IPv4 frame (LINKTYPE_RAW): client 198.18.0.10:40000, server
 * 198.18.0.20:443. Checksums are not looked at. */
static void send_frame(struct capture *c, bool from_client, uint8_t flags, uint32_t seq,
		       uint32_t ack, const uint8_t *data, uint32_t len)
{
	static uint8_t f[40 + 2048];
	memset(f, 0, 40);
	f[0] = 0x45;
	put16(f + 2, 40 + len);
	f[8] = 64;
	f[9] = 6;
	static const uint8_t cli[4] = { 198, 18, 0, 10 }, srv[4] = { 198, 18, 0, 20 };
	memcpy(f + 12, from_client ? cli : srv, 4);
	memcpy(f + 16, from_client ? srv : cli, 4);
	put16(f + 20, from_client ? 40000 : 443);
	put16(f + 22, from_client ? 443 : 40000);
	put32(f + 24, seq);
	put32(f + 28, ack);
	f[32] = 5 << 4;
	f[33] = flags;
	put16(f + 34, 64240);
	if (len)
		memcpy(f + 40, data, len);
	struct kx_frame fr = { f, 40 + len, 40 + len, 1000000u + c->num * 1000u,
				KX_LINK_RAW, 0 };
	kx_engine_packet(c->e, KX_LINK_RAW, &fr, ++c->num, 0);
}

static struct kx_engine *engine(struct capture *c, struct kx_counters *ctr)
{
	struct kx_engine_opts o;
	kx_engine_opts_default(&o);
	o.max_flows = 64;
	o.max_sessions = 8;
	o.no_ndpi = true;
	char err[128];
	memset(c, 0, sizeof(*c));
	memset(ctr, 0, sizeof(*ctr));
	c->e = kx_engine_new(&o, ctr, on_row, c, err, sizeof(err));
	if (!c->e) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	return c->e;
}

static void check_row(const struct capture *c, const char *what, uint64_t want_sh_pkt)
{
	CHECK_EQ(c->n_rows, 1, what);
	const struct kx_hs *hs = &c->rows[0];
	CHECK(hs->verdict == KX_V_HYBRID && hs->have_group && hs->group == 0x11ec,
	      "%s: hybrid, X25519MLKEM768 (verdict %d, group 0x%04x)", what, hs->verdict, hs->group);
	CHECK_EQ(hs->n_ch, 1, "one ClientHello");
	CHECK_EQ(hs->ch[0].bytes, chlen - 5, "the whole ClientHello was parsed");
	CHECK_EQ(hs->ch[0].n_shares, 2, "both key shares");
	CHECK_EQ(hs->pkt_first_ch, 1, "the ClientHello's first packet is the SYN");
	CHECK_EQ(hs->ts_first_us, 1000000u, "and so is its first timestamp");
	CHECK_EQ(hs->ch[0].segments, 2, "two segments carried it: SYN and the rest");
	CHECK_EQ(hs->pkt_sh, want_sh_pkt, "ServerHello packet");
	CHECK_EQ(hs->client_port, 40000, "client is the SYN sender");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "tests/data";
	chlen = load(dir, "ch-x25519mlkem768.bin", ch, sizeof(ch));
	shlen = load(dir, "sh-x25519mlkem768.bin", sh, sizeof(sh));
	if (chlen < 1500 || shlen < 100) {
		fprintf(stderr, "test records too short\n");
		return 1;
	}
	const uint32_t syn_data = 1400; /* what fits a SYN next to its options */
	const uint32_t rest = (uint32_t)chlen - syn_data;
	struct capture c;
	struct kx_counters ctr;

	/* Accepted: the SYN-ACK acknowledges the SYN's data. */
	engine(&c, &ctr);
	send_frame(&c, true, KX_TCP_SYN, CLI_ISN, 0, ch, syn_data);
	send_frame(&c, false, KX_TCP_SYN | KX_TCP_ACK, SRV_ISN, CLI_ISN + 1 + syn_data, NULL, 0);
	send_frame(&c, true, KX_TCP_ACK | KX_TCP_PSH, CLI_ISN + 1 + syn_data, SRV_ISN + 1,
		   ch + syn_data, rest);
	send_frame(&c, false, KX_TCP_ACK | KX_TCP_PSH, SRV_ISN + 1, CLI_ISN + 1 + (uint32_t)chlen, sh,
		   (uint32_t)shlen);
	kx_engine_finish(c.e, KX_R_EOF);
	check_row(&c, "SYN data accepted", 4);
	CHECK_EQ(ctr.reasm_retransmits, 0, "nothing retransmitted");
	CHECK_EQ(ctr.tls_malformed, 0, "no parse failure");
	kx_engine_free(c.e);

	/* Ignored: the SYN-ACK acknowledges ISN + 1 only, the client sends the
	 * SYN's bytes again after the handshake, then the rest. */
	engine(&c, &ctr);
	send_frame(&c, true, KX_TCP_SYN, CLI_ISN, 0, ch, syn_data);
	send_frame(&c, false, KX_TCP_SYN | KX_TCP_ACK, SRV_ISN, CLI_ISN + 1, NULL, 0);
	send_frame(&c, true, KX_TCP_ACK | KX_TCP_PSH, CLI_ISN + 1, SRV_ISN + 1, ch, syn_data);
	send_frame(&c, true, KX_TCP_ACK | KX_TCP_PSH, CLI_ISN + 1 + syn_data, SRV_ISN + 1,
		   ch + syn_data, rest);
	send_frame(&c, false, KX_TCP_ACK | KX_TCP_PSH, SRV_ISN + 1, CLI_ISN + 1 + (uint32_t)chlen, sh,
		   (uint32_t)shlen);
	kx_engine_finish(c.e, KX_R_EOF);
	check_row(&c, "SYN data ignored, sent again", 5);
	CHECK_EQ(ctr.reasm_retransmits, 1, "the second copy counts as a retransmission");
	CHECK_EQ(ctr.reasm_overlap_conflicts, 0, "with the same bytes");
	kx_engine_free(c.e);

	/* The SYN itself retransmitted (no SYN-ACK in time), then accepted. */
	engine(&c, &ctr);
	send_frame(&c, true, KX_TCP_SYN, CLI_ISN, 0, ch, syn_data);
	send_frame(&c, true, KX_TCP_SYN, CLI_ISN, 0, ch, syn_data);
	send_frame(&c, false, KX_TCP_SYN | KX_TCP_ACK, SRV_ISN, CLI_ISN + 1 + syn_data, NULL, 0);
	send_frame(&c, true, KX_TCP_ACK | KX_TCP_PSH, CLI_ISN + 1 + syn_data, SRV_ISN + 1,
		   ch + syn_data, rest);
	send_frame(&c, false, KX_TCP_ACK | KX_TCP_PSH, SRV_ISN + 1, CLI_ISN + 1 + (uint32_t)chlen, sh,
		   (uint32_t)shlen);
	kx_engine_finish(c.e, KX_R_EOF);
	check_row(&c, "SYN with data sent twice", 5);
	CHECK_EQ(ctr.reasm_retransmits, 1, "the second SYN's data is a duplicate");
	kx_engine_free(c.e);

	return tap_done();
}
