/* SPDX-License-Identifier: BSD-2-Clause */
/* test_flow.c: the flow table: canonical keys, LRU order, removal, capacity. */
#include "kexwatch/flow.h"
#include "tap.h"

static struct kx_pkt pkt(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
	struct kx_pkt p;
	memset(&p, 0, sizeof(p));
	p.ip_version = 4;
	p.proto = 6;
	memcpy(p.src, &src, 4);
	memcpy(p.dst, &dst, 4);
	p.sport = sport;
	p.dport = dport;
	return p;
}

int main(void)
{
	struct kx_flow_table *t = kx_flow_table_new(4);
	struct kx_flow_key k1, k2;
	int d1, d2;

	struct kx_pkt a = pkt(0x0a000001, 0x0a000002, 40000, 443);
	struct kx_pkt b = pkt(0x0a000002, 0x0a000001, 443, 40000);
	kx_flow_key_from_pkt(&a, &k1, &d1);
	kx_flow_key_from_pkt(&b, &k2, &d2);
	CHECK(memcmp(&k1, &k2, sizeof(k1)) == 0 && d1 != d2, "both directions share one key");

	struct kx_flow *f1 = kx_flow_insert(t, &k1, 100);
	CHECK(f1 && kx_flow_find(t, &k2) == f1, "reply direction finds the flow");

	struct kx_flow *fs[4] = { f1 };
	for (int i = 1; i < 4; i++) {
		struct kx_pkt p = pkt(0x0a000001, 0x0a000002, (uint16_t)(40000 + i), 443);
		struct kx_flow_key k;
		int d;
		kx_flow_key_from_pkt(&p, &k, &d);
		fs[i] = kx_flow_insert(t, &k, 100 + (uint64_t)i);
	}
	CHECK(kx_flow_count(t) == 4, "table holds its capacity");
	struct kx_pkt p5 = pkt(0x0a000009, 0x0a000002, 1, 443);
	struct kx_flow_key k5;
	int d5;
	kx_flow_key_from_pkt(&p5, &k5, &d5);
	CHECK(kx_flow_insert(t, &k5, 200) == NULL, "insert into a full table fails");
	CHECK(kx_flow_oldest(t) == f1, "oldest is the first inserted");
	kx_flow_touch(t, f1, 150);
	CHECK(kx_flow_oldest(t) == f1, "a touch within the LRU resolution does not move the flow");
	kx_flow_touch(t, f1, 100 + KX_FLOW_TOUCH_US);
	CHECK(kx_flow_oldest(t) == fs[1], "touch moves a flow to the head");
	struct kx_flow_key k_old = fs[1]->key;
	kx_flow_remove(t, fs[1]);
	CHECK(kx_flow_find(t, &k_old) == NULL && kx_flow_count(t) == 3, "removed flow is gone");
	struct kx_flow *f5 = kx_flow_insert(t, &k5, 2 * KX_FLOW_TOUCH_US);
	CHECK(f5 && kx_flow_find(t, &k5) == f5 && f5->sess == KX_NONE && f5->client == 2,
	      "freed slot reused, fresh state");
	CHECK(kx_flow_find(t, &k1) == f1 && kx_flow_oldest(t) == fs[2], "others untouched");

	/* Drain by age: the LRU order is the insertion/touch order. */
	uint64_t last = 0;
	int n = 0, ordered = 1;
	struct kx_flow *o;
	while ((o = kx_flow_oldest(t)) != NULL) {
		if (o->last_us < last)
			ordered = 0;
		last = o->last_us;
		kx_flow_remove(t, o);
		n++;
	}
	CHECK(n == 4 && ordered && kx_flow_count(t) == 0, "oldest-first drain");
	kx_flow_table_free(t);

	/* Many flows in a bigger table: every one findable. */
	t = kx_flow_table_new(5000);
	int missing = 0;
	for (uint32_t i = 0; i < 5000; i++) {
		struct kx_pkt p = pkt(0x0a000000 + i, 0xc0a80001, (uint16_t)(i * 7), 443);
		struct kx_flow_key k;
		int d;
		kx_flow_key_from_pkt(&p, &k, &d);
		kx_flow_insert(t, &k, i);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		struct kx_pkt p = pkt(0xc0a80001, 0x0a000000 + i, 443, (uint16_t)(i * 7));
		struct kx_flow_key k;
		int d;
		kx_flow_key_from_pkt(&p, &k, &d);
		if (!kx_flow_find(t, &k))
			missing++;
	}
	CHECK(missing == 0, "5000 flows all found from the other direction");
	kx_flow_table_free(t);
	CHECK(kx_flow_table_new(0) == NULL, "zero capacity refused");
	return tap_done();
}
