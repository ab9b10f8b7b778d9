/* SPDX-License-Identifier: BSD-2-Clause */
/* test_regress.c: the regression memory (src/regress): what counts as a
 * regression, the once-an-hour log, the memory's age limit and its fixed
 * size (the least recently good subject is forgotten first). */
#include <stdlib.h>

#include "kexwatch/regress.h"
#include "store_test.h"

#define S_US 1000000ULL
#define H_US (3600 * S_US)
#define D_US (24 * H_US)

static struct kx_hs at(struct kx_hs hs, uint64_t t)
{
	hs.ts_first_us = T0 + t;
	hs.ts_last_us = T0 + t + 1000;
	return hs;
}

static struct kx_hs hybrid(void)
{
	struct kx_hs hs = hs_hybrid();
	hs.verdict = KX_V_HYBRID;
	hs.reason = KX_R_NONE;
	return hs;
}

/* The same endpoint restarted with a classical group list. */
static struct kx_hs declined(void)
{
	struct kx_hs hs = hybrid();
	hs.group = 29;
	hs.verdict = KX_V_CLASSICAL;
	hs.reason = KX_R_SERVER_DECLINED;
	return hs;
}

/* The same client, no longer offering PQ. */
static struct kx_hs no_offer(void)
{
	struct kx_hs hs = declined();
	struct kx_client_hello *ch = &hs.ch[0];
	ch->n_groups = ch->n_shares = 0;
	SET(ch->groups, ch->n_groups, 29, 23);
	SET(ch->shares, ch->n_shares, 29);
	hs.reason = KX_R_CLIENT_NO_PQ;
	return hs;
}

static unsigned see(struct kx_regress *r, struct kx_hs hs, unsigned *log)
{
	return kx_regress_observe(r, &hs, log);
}

int main(void)
{
	struct kx_regress *r = kx_regress_new(1024, 30);
	unsigned log, m;
	const unsigned EP = 1u << KX_REGRESS_ENDPOINT, CL = 1u << KX_REGRESS_CLIENT;
	char err[256] = "";

	CHECK(r != NULL, "a table of 1024 entries");
	CHECK(see(r, at(declined(), 0), &log) == 0 && log == 0,
	      "classical first: nothing remembered, no regression");
	CHECK(see(r, at(hybrid(), S_US), &log) == 0, "hybrid: remembered");
	m = see(r, at(declined(), 2 * S_US), &log);
	CHECK(m == EP && log == EP, "then server-declined: hybrid-to-classical, logged (%u %u)", m, log);
	m = see(r, at(declined(), 3 * S_US), &log);
	CHECK(m == EP && log == 0, "again a second later: counted, not logged");
	m = see(r, at(declined(), H_US + 2 * S_US), &log);
	CHECK(m == EP && log == EP, "an hour after the last log line: logged again");
	m = see(r, at(no_offer(), H_US + 3 * S_US), &log);
	CHECK(m == CL && log == CL, "the client stops offering PQ: pq-offer-dropped (%u), not the "
	      "endpoint's doing", m);
	struct kx_hs other = declined();
	strcpy(other.sni, "other.example");
	CHECK(see(r, at(other, H_US + 4 * S_US), &log) == 0,
	      "another SNI on the same server IP and port is another endpoint");
	struct kx_hs resumed = hybrid();
	resumed.verdict = KX_V_RESUMED;
	resumed.is_session = true;
	CHECK(see(r, at(resumed, H_US + 5 * S_US), &log) == 0, "sessions decide nothing");
	m = see(r, at(declined(), 31 * D_US + 3 * S_US), &log);
	CHECK(m == 0, "31 days after the last hybrid handshake: forgotten (--regress-memory 30)");
	CHECK(!strcmp(kx_regress_kind_name(KX_REGRESS_ENDPOINT), "hybrid-to-classical") &&
	      !strcmp(kx_regress_kind_name(KX_REGRESS_CLIENT), "pq-offer-dropped"),
	      "kind names as in kexwatch changes");
	CHECK(kx_regress_load(r, "/nonexistent/kx.db", err, sizeof(err)) == 0,
	      "a missing inventory seeds nothing, no error");
	kx_regress_free(r);

	/* Fixed size: 64 entries and 5000 hybrid endpoints, one a second. The
	 * most recent ones are still remembered, the first ones gave way. */
	r = kx_regress_new(64, 30);
	for (unsigned i = 0; i < 5000; i++) {
		struct kx_hs hs = hybrid();
		snprintf(hs.sni, sizeof(hs.sni), "e%u.example", i);
		see(r, at(hs, i * S_US), &log);
	}
	unsigned recent = 0, old = 0;
	for (unsigned i = 0; i < 5000; i++) {
		struct kx_hs hs = declined();
		snprintf(hs.sni, sizeof(hs.sni), "e%u.example", i);
		bool hit = see(r, at(hs, 6000 * S_US), &log) == EP;
		if (i < 4000)
			old += hit;
		else if (i >= 4990)
			recent += hit;
	}
	CHECK(recent == 10, "64 entries: the 10 endpoints good most recently are remembered (%u)",
	      recent);
	CHECK(old <= 64, "and at most 64 at all of the first 4000 (%u)", old);
	kx_regress_free(r);

	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}
