/* SPDX-License-Identifier: BSD-2-Clause */
/* test_groups.c: the group registry and the verdict rules. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "kexwatch/groups.h"
#include "kexwatch/hs.h"
#include "tap.h"

static void verdict_case(uint16_t version, int have_group, uint16_t group, const uint16_t *offered,
			 unsigned n, const char *want_v, const char *want_r)
{
	struct kx_hs hs;
	memset(&hs, 0, sizeof(hs));
	hs.n_ch = 1;
	hs.have_sh = 1;
	hs.version = version;
	hs.have_group = have_group;
	hs.group = group;
	for (unsigned i = 0; i < n; i++)
		hs.ch[0].groups[i] = offered[i];
	hs.ch[0].n_groups = (uint8_t)n;
	hs.ch[0].from_wire = true;
	kx_classify(&hs);
	CHECK(strcmp(kx_verdict_name(hs.verdict), want_v) == 0 &&
		      strcmp(kx_reason_name(hs.reason), want_r) == 0,
	      "group 0x%04x -> %s/%s (got %s/%s)", group, want_v, want_r,
	      kx_verdict_name(hs.verdict), kx_reason_name(hs.reason));
}

int main(void)
{
	CHECK_STR(kx_group_name(0x11ec), "X25519MLKEM768", "0x11EC name");
	CHECK_STR(kx_group_name(0x11eb), "SecP256r1MLKEM768", "0x11EB name");
	CHECK_STR(kx_group_name(0x11ed), "SecP384r1MLKEM1024", "0x11ED name");
	CHECK_STR(kx_group_name(0x0200), "MLKEM512", "0x0200 name");
	CHECK_STR(kx_group_name(0x0201), "MLKEM768", "0x0201 name");
	CHECK_STR(kx_group_name(0x0202), "MLKEM1024", "0x0202 name");
	CHECK_STR(kx_group_name(0x6399), "X25519Kyber768Draft00", "0x6399 name");
	CHECK_STR(kx_group_name(0x639a), "SecP256r1Kyber768Draft00", "0x639A name");
	CHECK_STR(kx_group_name(29), "x25519", "x25519");
	CHECK_STR(kx_group_name(23), "secp256r1", "secp256r1");
	CHECK_STR(kx_group_name(256), "ffdhe2048", "ffdhe2048");
	CHECK_STR(kx_group_name(33), "brainpoolP512r1tls13", "brainpool tls13");
	CHECK_EQ(kx_group_family(0x11ec), KX_FAM_HYBRID, "hybrid family");
	CHECK_EQ(kx_group_family(0x0201), KX_FAM_PQ, "pq family");
	CHECK_EQ(kx_group_family(0x6399), KX_FAM_HYBRID_DRAFT, "draft family");
	CHECK_EQ(kx_group_family(258), KX_FAM_CLASSICAL_FFDHE, "ffdhe family");
	CHECK_EQ(kx_group_family(0x0a0a), KX_FAM_GREASE, "GREASE 0x0a0a");
	CHECK_EQ(kx_group_family(0xfafa), KX_FAM_GREASE, "GREASE 0xfafa");
	CHECK_EQ(kx_group_family(0x0a1a), KX_FAM_UNKNOWN, "0x0a1a is not GREASE");
	CHECK(kx_group_name(0x1234) == NULL, "unknown code point has no name");
	CHECK_EQ(kx_group_family(0x1234), KX_FAM_UNKNOWN, "unknown family");
	char lbl[16];
	kx_group_label(0x1234, lbl, sizeof(lbl));
	CHECK_STR(lbl, "0x1234", "unknown label is hex");
	CHECK(kx_group_is_pq(0x11ec) && kx_group_is_pq(0x0200) && kx_group_is_pq(0x6399) &&
		      !kx_group_is_pq(29) && !kx_group_is_pq(0x0a0a),
	      "is_pq");

	/* Override file. */
	char path[] = "/tmp/kx-groups-XXXXXX";
	int fd = mkstemp(path);
	const char *txt = "# test\n0x1234 NewHybrid hybrid\n29 X25519-renamed classical  # comment\n";
	CHECK(fd >= 0 && write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt), "write override");
	close(fd);
	char err[256];
	CHECK(kx_groups_load(path, err, sizeof(err)) == 0, "load override");
	CHECK_STR(kx_group_name(0x1234), "NewHybrid", "override adds a name");
	CHECK_EQ(kx_group_family(0x1234), KX_FAM_HYBRID, "override adds a family");
	CHECK_STR(kx_group_name(29), "X25519-renamed", "override replaces a name");
	uint16_t cs = 1, ss = 1;
	CHECK(!kx_group_share_sizes(29, &cs, &ss), "an override without sizes checks none");
	kx_groups_reset();
	fd = open(path, O_WRONLY | O_TRUNC);
	const char *sized = "0x2F3A MyVendorKEM pq 1568/1568\n0x2F3B MyHybrid hybrid 1216/1120\n"
			    "0x2F3C MyCurve classical 32\n";
	CHECK(write(fd, sized, strlen(sized)) == (ssize_t)strlen(sized), "write sized override");
	close(fd);
	CHECK(kx_groups_load(path, err, sizeof(err)) == 0, "load sizes: %s", err);
	CHECK(kx_group_share_sizes(0x2f3b, &cs, &ss) && cs == 1216 && ss == 1120,
	      "CLIENT/SERVER sizes from the file");
	CHECK(kx_group_share_sizes(0x2f3c, &cs, &ss) && cs == 32 && ss == 32,
	      "one size for both sides");
	kx_groups_reset();
	fd = open(path, O_WRONLY | O_TRUNC);
	const char *badsize = "0x2F3A MyVendorKEM pq 1568/x\n";
	CHECK(write(fd, badsize, strlen(badsize)) == (ssize_t)strlen(badsize), "write bad size");
	close(fd);
	CHECK(kx_groups_load(path, err, sizeof(err)) < 0 && strstr(err, ":1:"),
	      "a bad size is an error with a line number: %s", err);
	kx_groups_reset();
	CHECK(kx_group_name(0x1234) == NULL, "reset drops overrides");

	fd = open(path, O_WRONLY | O_TRUNC);
	const char *bad = "0x1234 Foo\n";
	CHECK(write(fd, bad, strlen(bad)) == (ssize_t)strlen(bad), "write bad override");
	close(fd);
	CHECK(kx_groups_load(path, err, sizeof(err)) < 0 && strstr(err, ":1:"),
	      "missing family is an error with a line number: %s", err);
	fd = open(path, O_WRONLY | O_TRUNC);
	const char *bad2 = "70000 Foo hybrid\n";
	CHECK(write(fd, bad2, strlen(bad2)) == (ssize_t)strlen(bad2), "write bad code");
	close(fd);
	CHECK(kx_groups_load(path, err, sizeof(err)) < 0, "code > 0xffff rejected: %s", err);
	unlink(path);
	CHECK(kx_groups_load("/nonexistent/kx", err, sizeof(err)) < 0, "missing file: %s", err);

	struct kx_hs hs;
	const uint16_t pq_offer[] = { 0x0a0a, 0x11ec, 0x0201, 0x6399, 29, 23 };
	const uint16_t classic_offer[] = { 29, 23, 24, 0x4242 };
	verdict_case(0x0304, 1, 0x11ec, pq_offer, 6, "hybrid", "");
	verdict_case(0x0304, 1, 0x0201, pq_offer, 6, "pq", "");
	verdict_case(0x0304, 1, 0x6399, pq_offer, 6, "hybrid-draft", "");
	verdict_case(0x0304, 1, 29, pq_offer, 6, "classical", "server-declined");
	verdict_case(0x0304, 1, 29, classic_offer, 3, "classical", "client-no-pq");
	verdict_case(0x0303, 1, 23, pq_offer, 6, "classical", "tls12");
	verdict_case(0x0304, 0, 0, classic_offer, 3, "resumed", "");
	verdict_case(0x0304, 1, 0x4242, classic_offer, 4, "unknown", "");
	/* RFC 8446 4.2.8: a selected group the client never offered. */
	verdict_case(0x0304, 1, 0x11ec, classic_offer, 3, "unknown", "group-not-offered");
	verdict_case(0x0303, 1, 24, pq_offer, 6, "unknown", "group-not-offered");

	/* Key share sizes: the table of issue 18, and what breaks them. */
	static const struct {
		uint16_t g, c, s;
	} sz[] = {
		{ 29, 32, 32 },         { 30, 56, 56 },         { 23, 65, 65 },
		{ 24, 97, 97 },         { 25, 133, 133 },       { 31, 65, 65 },
		{ 32, 97, 97 },         { 33, 129, 129 },       { 256, 256, 256 },
		{ 257, 384, 384 },      { 258, 512, 512 },      { 259, 768, 768 },
		{ 260, 1024, 1024 },    { 0x11ec, 1216, 1120 }, { 0x11eb, 1249, 1153 },
		{ 0x11ed, 1665, 1665 }, { 0x11ee, 1249, 1153 }, { 0x0200, 800, 768 },
		{ 0x0201, 1184, 1088 }, { 0x0202, 1568, 1568 }, { 0x6399, 1216, 1120 },
		{ 0x639a, 1249, 1153 },
	};
	for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		uint16_t c = 0, sv = 0;
		CHECK(kx_group_share_sizes(sz[i].g, &c, &sv) && c == sz[i].c && sv == sz[i].s,
		      "share sizes of 0x%04x: %u/%u (got %u/%u)", sz[i].g, sz[i].c, sz[i].s, c, sv);
	}
	uint16_t c0, s0;
	CHECK(!kx_group_share_sizes(0x4242, &c0, &s0) && !kx_group_share_sizes(0x0a0a, &c0, &s0),
	      "no sizes for unknown groups and GREASE");
	{
		/* X25519MLKEM768 offered with a share of x25519's size. */
		memset(&hs, 0, sizeof(hs));
		hs.n_ch = 1;
		hs.have_sh = true;
		hs.version = 0x0304;
		hs.have_group = true;
		hs.group = 0x11ec;
		hs.server_share_seen = true;
		hs.server_share_len = 1120;
		struct kx_client_hello *ch = &hs.ch[0];
		ch->from_wire = true;
		ch->groups[0] = 0x11ec, ch->groups[1] = 29, ch->groups[2] = 0x2a2a, ch->n_groups = 3;
		ch->shares[0] = 0x2a2a, ch->share_len[0] = 1;
		ch->shares[1] = 0x11ec, ch->share_len[1] = 1216;
		ch->shares[2] = 29, ch->share_len[2] = 32;
		ch->n_shares = 3;
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_HYBRID && hs.anomalies == 0,
		      "right sizes, GREASE share of 1 byte: hybrid");
		ch->share_len[1] = 32;
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_UNKNOWN && hs.reason == KX_R_SHARE_SIZE &&
			      hs.anomalies == KX_ANOM_CLIENT_SHARE_SIZE,
		      "a 32-byte X25519MLKEM768 share: unknown/share-size");
		ch->share_len[1] = 1216;
		hs.server_share_len = 1088; /* ML-KEM-768 ciphertext without the x25519 part */
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_UNKNOWN && hs.reason == KX_R_SHARE_SIZE &&
			      hs.anomalies == KX_ANOM_SERVER_SHARE_SIZE,
		      "a 1088-byte server share for 0x11ec: unknown/share-size");
		hs.server_share_len = 1120;
		ch->groups[0] = 23; /* 0x11ec shared but not listed */
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_UNKNOWN && hs.reason == KX_R_NOT_OFFERED &&
			      hs.anomalies == (KX_ANOM_NOT_OFFERED | KX_ANOM_SHARE_UNLISTED),
		      "selected and shared, not in supported_groups: group-not-offered");
		hs.group = 29;
		hs.server_share_len = 32;
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_UNKNOWN && hs.reason == KX_R_SHARE_UNLISTED &&
			      hs.anomalies == KX_ANOM_SHARE_UNLISTED,
		      "a key share for an unlisted group: share-not-in-groups");
		hs.have_sh = false;
		hs.reason = KX_R_RST;
		kx_classify(&hs);
		CHECK(hs.verdict == KX_V_INCOMPLETE && hs.reason == KX_R_RST &&
			      hs.anomalies == KX_ANOM_SHARE_UNLISTED,
		      "no ServerHello: incomplete, the anomaly still recorded");
		ch->from_wire = false;
		hs.have_sh = true;
		kx_classify(&hs);
		CHECK(hs.anomalies == 0, "hand-built rows (not from the wire) are not judged");
	}

	memset(&hs, 0, sizeof(hs));
	hs.n_ch = 1;
	hs.reason = KX_R_RST;
	kx_classify(&hs);
	CHECK(hs.verdict == KX_V_INCOMPLETE && hs.reason == KX_R_RST, "no ServerHello: incomplete/rst");
	return tap_done();
}
