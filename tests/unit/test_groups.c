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

	const uint16_t pq_offer[] = { 0x0a0a, 0x11ec, 29, 23 };
	const uint16_t classic_offer[] = { 29, 23, 24 };
	verdict_case(0x0304, 1, 0x11ec, pq_offer, 4, "hybrid", "");
	verdict_case(0x0304, 1, 0x0201, pq_offer, 4, "pq", "");
	verdict_case(0x0304, 1, 0x6399, pq_offer, 4, "hybrid-draft", "");
	verdict_case(0x0304, 1, 29, pq_offer, 4, "classical", "server-declined");
	verdict_case(0x0304, 1, 29, classic_offer, 3, "classical", "client-no-pq");
	verdict_case(0x0303, 1, 23, pq_offer, 4, "classical", "tls12");
	verdict_case(0x0304, 0, 0, classic_offer, 3, "resumed", "");
	verdict_case(0x0304, 1, 0x4242, classic_offer, 3, "unknown", "");

	struct kx_hs hs;
	memset(&hs, 0, sizeof(hs));
	hs.n_ch = 1;
	hs.reason = KX_R_RST;
	kx_classify(&hs);
	CHECK(hs.verdict == KX_V_INCOMPLETE && hs.reason == KX_R_RST, "no ServerHello: incomplete/rst");
	return tap_done();
}
