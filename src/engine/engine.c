/* SPDX-License-Identifier: BSD-2-Clause */
/* engine.c: the per-packet pipeline and the handshake state machine.
 *
 * A packet is decoded, matched to its flow, and, while the flow's handshake
 * is not final, its payload goes through reassembly into the TLS stream
 * layer of its direction; handshake messages drive the state machine below.
 * Once the result is final the row is emitted, the handshake context (the
 * heavy part: reassembly, parser and nDPI state) goes back to its pool and
 * the flow is bypassed: later packets cost a hash lookup and an LRU touch.
 *
 *   WAIT_CH --CH--> WAIT_SH --SH(1.3)------------------------------> final
 *                     |  \--HRR--> WAIT_CH2 --CH--> WAIT_SH2 --SH--> final
 *                     \--SH(<=1.2)--> WAIT_SKE --SKE | SHD | CCS---> final
 */
#include "kexwatch/engine.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kexwatch/bufpool.h"
#include "kexwatch/decode.h"
#include "kexwatch/defrag.h"
#include "kexwatch/dpi.h"
#include "kexwatch/dtls.h"
#include "kexwatch/fingerprint.h"
#include "kexwatch/flow.h"
#include "kexwatch/plain.h"
#include "kexwatch/quic.h"
#include "kexwatch/ssh.h"
#include "kexwatch/starttls.h"
#include "kexwatch/reasm.h"
#include "kexwatch/tls.h"

#define SEG_LOG 32          /* first segments (QUIC: CRYPTO frames) remembered per direction */
#define DPI_MAX_PACKETS 24  /* nDPI gets this many packets at most */
#define EXPIRE_BUDGET 8     /* idle flows expired per packet, at most */
#define EVICT_SCAN 8        /* flows looked at for a victim without a pending handshake */

/* PH_WAIT_KEX: SSH after both KEXINITs, for the ECDH (or hybrid) messages
 * whose sizes are checked; the row is already decided otherwise. */
enum phase { PH_WAIT_CH = 0, PH_WAIT_SH, PH_WAIT_CH2, PH_WAIT_SH2, PH_WAIT_SKE, PH_WAIT_KEX,
	     PH_FINAL };

/* Where the first copy of a run of stream bytes came from: gives the
 * ClientHello's segment count, first packet number and first timestamp. */
struct seg_entry {
	uint32_t start, end;
	uint64_t pkt, ts;
};

/* The flags every packet reads come first, next to the stream state, so a
 * packet touches few of the context's cache lines (dpi_done behind the
 * 1.5 KB segment log was one miss per packet). The row, the STARTTLS state
 * and the segment log come last: zero_session leaves the latter two and the
 * row's SSH part alone. */
struct session {
	uint8_t phase;
	bool abandon;        /* not a handshake we can report: drop silently */
	bool report_empty;   /* report a row although no ClientHello was parsed */
	bool dpi_done;
	uint8_t dpi_pkts;
	bool quic;           /* a QUIC connection: CRYPTO frames instead of TCP */
	bool q_retry;        /* QUIC: a Retry was followed; later ones are ignored */
	bool q_server_open;  /* QUIC: a server Initial opened; no Retry after that */
	bool ssh;            /* an SSH connection: banners and KEXINITs instead of TLS */
	bool ssh_pending;    /* SSH by a server's text lines only: the client must confirm */
	bool dtls;           /* DTLS over UDP: datagrams of records instead of a stream */
	bool dtls_hvr;       /* a HelloVerifyRequest asked for the cookie ClientHello */
	bool st_on;          /* following a cleartext phase (STARTTLS and kin) */
	bool st_gave_up;
	bool memcap_hit;     /* a buffer for this handshake was refused by --memcap */
	bool st_tls[2];      /* this direction has switched to TLS */
	uint8_t n_log[2];
	uint8_t side;
	uint16_t log_overflow[2];
	uint32_t tls_base[2]; /* stream offset where TLS begins in each direction */
	uint32_t next_free;
	/* Context of the delivery in progress (set before each push). */
	struct kx_engine *e;
	struct kx_flow *flow;
	const struct kx_pkt *pkt;
	struct kx_reasm rs[2];
	struct kx_tls_stream tls[2];
	uint8_t ch_sid_len;
	uint8_t ch_sid[32];
	struct kx_ssh_stream sshs[2];
	struct kx_ssh_kexinit *kexinit[2]; /* the first KEXINIT, until the other arrives */
	uint32_t kexinit_cap[2];
	struct kx_quic_secrets qsec;
	struct kx_hs hs;
	union { /* TCP's in-band upgrades and DTLS never share a session */
		struct kx_starttls st;       /* set up by kx_starttls_init */
		struct kx_dtls_stream ds[2]; /* set up by handle_dtls */
	};
	struct seg_entry log[2][SEG_LOG];
};
_Static_assert(sizeof(((struct session *)0)->ds) <= sizeof(struct kx_starttls),
	       "the DTLS streams take no room of their own");

struct kx_engine {
	struct kx_engine_opts o;
	struct kx_counters *c;
	kx_emit_fn emit;
	void *emit_ctx;
	struct kx_flow_table *ft;
	struct kx_defrag *df; /* NULL with --defrag-memcap 0 */
	struct kx_bufpool *pool;
	struct kx_dpi *dpi;
	struct kx_quic_ctx *qc;
	struct session *sess;
	uint8_t *dpi_mem;
	size_t dpi_size;
	uint32_t sess_used, sess_free;
	uint32_t sess_live; /* contexts handed out and not yet released */
	uint64_t now_us;
	uint64_t idle_us;
	uint32_t source_id;   /* of the packet being handled */
	uint8_t iface;
	struct kx_hs scratch; /* rows made without a context: sessions, capacity */
};

/* What a flow became, for the ledger: every flow ends counted once. */
enum flow_outcome {
	OUT_NONE = 0,
	OUT_HS_ROW,
	OUT_CAPACITY,
	OUT_PLAIN_OFF,
};

#define ALL_HELLOS ((1u << KX_HS_CLIENT_HELLO) | (1u << KX_HS_SERVER_HELLO) | \
		    (1u << KX_HS_SERVER_KEY_EXCHANGE))

void kx_engine_opts_default(struct kx_engine_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_flows = KX_DEFAULT_MAX_FLOWS;
	o->max_sessions = KX_DEFAULT_MAX_SESSIONS;
	o->max_stream_bytes = KX_DEFAULT_MAX_STREAM_BYTES;
	o->max_msg_bytes = KX_DEFAULT_MAX_MSG_BYTES;
	o->memcap = KX_DEFAULT_MEMCAP;
	o->idle_timeout_s = KX_DEFAULT_IDLE_TIMEOUT_S;
	o->defrag_memcap = KX_DEFAULT_DEFRAG_MEMCAP;
	o->defrag_max_datagrams = KX_DEFAULT_DEFRAG_DATAGRAMS;
	o->defrag_timeout_s = KX_DEFAULT_DEFRAG_TIMEOUT_S;
}

size_t kx_engine_flow_bytes(void)
{
	/* A slot plus its share of the bucket array (at most two indices). */
	return sizeof(struct kx_flow) + 2 * sizeof(uint32_t);
}

size_t kx_engine_session_bytes(void)
{
	return sizeof(struct session) + kx_dpi_flow_size();
}

struct kx_engine *kx_engine_new(const struct kx_engine_opts *o, struct kx_counters *c,
				kx_emit_fn emit, void *emit_ctx, char *err, size_t errlen)
{
	struct kx_engine *e = calloc(1, sizeof(*e));
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->o = *o;
	e->c = c;
	e->emit = emit;
	e->emit_ctx = emit_ctx;
	e->idle_us = (uint64_t)o->idle_timeout_s * 1000000u;
	e->sess_free = KX_NONE;
	e->ft = kx_flow_table_new(o->max_flows);
	if (o->defrag_memcap) {
		e->df = kx_defrag_new(o->defrag_memcap, o->defrag_max_datagrams, o->defrag_timeout_s);
		if (!e->df) {
			snprintf(err, errlen, "cannot allocate %zu bytes / %u datagrams for IP reassembly",
				 o->defrag_memcap, o->defrag_max_datagrams);
			kx_engine_free(e);
			return NULL;
		}
	}
	e->pool = kx_bufpool_new(o->memcap);
	/* calloc'd pools map zero pages: only contexts in use cost memory. */
	e->sess = calloc(o->max_sessions ? o->max_sessions : 1, sizeof(*e->sess));
	/* Labels by name are looked up by the row's consumer (hs.ndpi_pending):
	 * only packet dissection needs nDPI here. */
	if (!o->no_ndpi && o->ndpi_packets)
		e->dpi = kx_dpi_new(true);
	if (kx_quic_init() == 0)
		e->qc = kx_quic_ctx_new();
	if (e->dpi && o->ndpi_packets) {
		e->dpi_size = kx_dpi_flow_size();
		e->dpi_mem = calloc(o->max_sessions ? o->max_sessions : 1, e->dpi_size);
	}
	if (!e->ft || !e->pool || !e->sess || !e->qc || (!o->no_ndpi && o->ndpi_packets && !e->dpi) ||
	    (o->ndpi_packets && !o->no_ndpi && !e->dpi_mem)) {
		snprintf(err, errlen, "cannot allocate %u flows / %u handshake contexts",
			 o->max_flows, o->max_sessions);
		kx_engine_free(e);
		return NULL;
	}
	return e;
}

void kx_engine_free(struct kx_engine *e)
{
	if (!e)
		return;
	if (e->dpi_mem)
		for (uint32_t i = 0; i < e->sess_used; i++)
			kx_dpi_flow_reset(e->dpi_mem + (size_t)i * e->dpi_size);
	kx_flow_table_free(e->ft);
	kx_defrag_free(e->df);
	kx_bufpool_free(e->pool);
	kx_dpi_free(e->dpi);
	kx_quic_ctx_free(e->qc);
	free(e->dpi_mem);
	free(e->sess);
	free(e);
}

uint32_t kx_engine_active_flows(const struct kx_engine *e)
{
	return kx_flow_count(e->ft);
}

size_t kx_engine_memory(const struct kx_engine *e)
{
	return (size_t)kx_flow_capacity(e->ft) * kx_engine_flow_bytes() +
	       (size_t)e->sess_used * (sizeof(struct session) + e->dpi_size) +
	       kx_bufpool_allocated(e->pool) + (e->df ? kx_defrag_memory(e->df) : 0);
}

/* ---- handshake contexts ---- */

static struct session *sess_of(struct kx_engine *e, const struct kx_flow *f)
{
	return f->sess == KX_NONE ? NULL : &e->sess[f->sess];
}

/* nDPI's per-flow state, when labelling by packets; else NULL. */
static void *dpi_flow(struct kx_engine *e, uint32_t i)
{
	return e->dpi_mem ? e->dpi_mem + (size_t)i * e->dpi_size : NULL;
}

/* Zeroes a context except the parts only some sessions use, each set up
 * when its protocol starts: the SSH part of the row (start_ssh), the DTLS
 * streams (handle_dtls), the STARTTLS state (kx_starttls_init) and the
 * segment log (read up to n_log).
 * They are 4.4 KB of the 6.4 KB that were zeroed for every handshake, and
 * the last members of the context and of the row. */
#define SESS_OFF(m) offsetof(struct session, m)
_Static_assert(offsetof(struct kx_hs, ssh) + sizeof(struct kx_hs_ssh) + 8 > sizeof(struct kx_hs) &&
		       SESS_OFF(hs) + sizeof(struct kx_hs) <= SESS_OFF(st) &&
		       SESS_OFF(st) + sizeof(struct kx_starttls) <= SESS_OFF(log) &&
		       SESS_OFF(log) + sizeof(((struct session *)0)->log) == sizeof(struct session),
	       "zero_session: hs.ssh, st and log are the last members");
static void zero_session(struct session *s)
{
	memset(s, 0, SESS_OFF(hs.ssh));
}

static struct session *sess_new(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p)
{
	uint32_t i;
	if (e->sess_free != KX_NONE) {
		i = e->sess_free;
		e->sess_free = e->sess[i].next_free;
	} else if (e->sess_used < e->o.max_sessions) {
		i = e->sess_used++;
	} else {
		e->c->sessions_refused++;
		return NULL;
	}
	struct session *s = &e->sess[i];
	e->sess_live++;
	zero_session(s);
	s->hs.ch_to_sh_us = -1;
	s->hs.source_id = p->source_id;
	s->hs.iface = p->iface;
	for (int d = 0; d < 2; d++) {
		kx_tls_stream_init(&s->tls[d], ALL_HELLOS, e->o.max_msg_bytes);
		/* TLS 1.2: the leaf certificate, from the chain's first bytes. */
		kx_tls_stream_partial(&s->tls[d], 1u << KX_HS_CERTIFICATE);
		s->tls[d].copy_always = e->o.no_fastpath;
	}
	f->sess = i;
	if (e->dpi_mem)
		e->c->ndpi_flows++;
	else
		s->dpi_done = true;
	return s;
}

/* Contexts that can still be handed out. */
static uint32_t sess_room(const struct kx_engine *e)
{
	return e->o.max_sessions - e->sess_live;
}

static void sess_release(struct kx_engine *e, struct kx_flow *f)
{
	struct session *s = sess_of(e, f);
	if (!s)
		return;
	for (int d = 0; d < 2; d++) {
		kx_reasm_release(&s->rs[d], e->pool);
		kx_tls_stream_release(&s->tls[d], e->pool);
		if (s->dtls)
			kx_dtls_stream_release(&s->ds[d], e->pool);
		if (s->ssh) {
			kx_ssh_stream_release(&s->sshs[d], e->pool);
			kx_buf_put(e->pool, (uint8_t *)s->kexinit[d], s->kexinit_cap[d]);
			s->kexinit[d] = NULL;
		}
	}
	if (e->dpi_mem)
		kx_dpi_flow_reset(dpi_flow(e, f->sess));
	s->next_free = e->sess_free;
	e->sess_free = f->sess;
	f->sess = KX_NONE;
	e->sess_live--;
}

static void ssh_check_sizes(struct kx_hs *hs);

static void fill_endpoints(struct kx_hs *hs, const struct kx_flow *f)
{
	const struct kx_flow_key *k = &f->key;
	bool a_is_client = f->client != 1;
	hs->client_ip.family = hs->server_ip.family = k->ip_version;
	memcpy(hs->client_ip.a, a_is_client ? k->a : k->b, 16);
	memcpy(hs->server_ip.a, a_is_client ? k->b : k->a, 16);
	hs->client_port = a_is_client ? k->pa : k->pb;
	hs->server_port = a_is_client ? k->pb : k->pa;
	hs->vlan = k->vlan;
	kx_tunnel_label(k->tunnel, f->tunnel_tag, hs->tunnel, sizeof(hs->tunnel));
	hs->transport = k->proto;
}

static void count_verdict(struct kx_counters *c, enum kx_verdict v)
{
	c->hs_total++;
	switch (v) {
	case KX_V_HYBRID: c->hs_hybrid++; break;
	case KX_V_PQ: c->hs_pq++; break;
	case KX_V_HYBRID_DRAFT: c->hs_hybrid_draft++; break;
	case KX_V_CLASSICAL: c->hs_classical++; break;
	case KX_V_RESUMED: c->hs_resumed++; break;
	case KX_V_UNKNOWN: c->hs_unknown++; break;
	default: c->hs_incomplete++; break;
	}
}

/* Emits the row (when there is a ClientHello to report) and frees the context. */
/* A client that sent bytes which never became a ClientHello because the
 * start of its stream was never seen (the first segment lost on the path,
 * typically a large hybrid ClientHello dropped by an MTU black hole). Worth a
 * row when the connection looks like TLS by nDPI's guess or by its port. */
static bool lost_client_hello(struct kx_engine *e, struct session *s, struct kx_flow *f)
{
	static const uint16_t tls_ports[] = { 443, 8443, 853, 465, 563, 636, 989, 990, 992, 993,
					      994, 995, 5061, 6443, 8883 };
	if (f->client > 1 || !(f->syn_mask >> f->client & 1))
		return false;
	const struct kx_reasm *r = &s->rs[f->client];
	if (!r->started || r->next != 0 || !kx_reasm_has_gap(r) || !s->n_log[f->client])
		return false;
	uint16_t port = f->client == 0 ? f->key.pb : f->key.pa;
	if (e->dpi_mem) {
		kx_dpi_label(e->dpi, dpi_flow(e, f->sess), s->hs.ndpi_label, sizeof(s->hs.ndpi_label));
		if (strstr(s->hs.ndpi_label, "TLS"))
			return true;
	}
	for (size_t i = 0; i < sizeof(tls_ports) / sizeof(tls_ports[0]); i++)
		if (port == tls_ports[i])
			return true;
	return false;
}

/* A server KEXINIT whose client KEXINIT was not captured. The choice is
 * the client's first method the server also lists, so only the server's
 * list is known: when every method on it is hybrid (or every one
 * classical) the outcome is certain whatever the client offered;
 * otherwise it cannot be told. */
static void ssh_server_only(struct session *s, const struct kx_flow *f)
{
	struct kx_hs *hs = &s->hs;
	const struct kx_ssh_kexinit *k = f->client <= 1 ? s->kexinit[!f->client] : NULL;
	unsigned n_classical = 0, n_hybrid = 0, n_draft = 0, n_other = 0;
	const char *pos = k ? kx_ssh_list_str(k, KX_SSH_L_KEX) : NULL;
	char name[KX_SSH_NAME_MAX + 1];
	while (pos && kx_ssh_list_next(&pos, name)) {
		switch (kx_ssh_kex_class(name)) {
		case KX_SSH_KEX_CLASSICAL: n_classical++; break;
		case KX_SSH_KEX_HYBRID: n_hybrid++; break;
		case KX_SSH_KEX_HYBRID_DRAFT: n_draft++; break;
		case KX_SSH_KEX_PSEUDO: break;
		default: n_other++; break;
		}
	}
	unsigned n = n_classical + n_hybrid + n_draft + n_other;
	hs->ch_unseen = true;
	hs->preclassified = true;
	hs->ts_first_us = hs->ts_last_us;
	hs->reason = KX_R_OFFER_UNSEEN;
	if (n && n_hybrid == n)
		hs->verdict = KX_V_HYBRID, hs->reason = KX_R_NONE;
	else if (n && n_draft == n)
		hs->verdict = KX_V_HYBRID_DRAFT, hs->reason = KX_R_NONE;
	else if (n && n_classical == n)
		hs->verdict = KX_V_CLASSICAL;
	else
		hs->verdict = KX_V_INCOMPLETE;
}

static void sess_finish(struct kx_engine *e, struct kx_flow *f, enum kx_reason why)
{
	struct session *s = sess_of(e, f);
	if (!s)
		return;
	if (!s->hs.n_ch && !s->abandon && lost_client_hello(e, s, f)) {
		const struct seg_entry *g = &s->log[f->client][0];
		s->hs.ts_first_us = g->ts;
		s->hs.pkt_first_ch = g->pkt;
		s->hs.reason = KX_R_GAP;
		s->report_empty = true;
	}
	if (s->ssh && !s->hs.n_ch && s->hs.have_sh && !s->abandon)
		ssh_server_only(s, f);
	if ((s->hs.n_ch || s->report_empty || s->hs.ch_unseen) && !s->abandon) {
		struct kx_hs *hs = &s->hs;
		if (!hs->have_sh && hs->reason == KX_R_NONE && s->memcap_hit)
			hs->reason = KX_R_CAPACITY;
		if (!hs->have_sh && hs->reason == KX_R_NONE) {
			int cl = f->client == 1;
			if (s->tls[0].failed || s->tls[1].failed)
				hs->reason = KX_R_MALFORMED;
			else if (s->rs[0].depth_reached || s->rs[1].depth_reached)
				hs->reason = KX_R_DEPTH;
			else if ((why == KX_R_EOF || why == KX_R_TIMEOUT) &&
				 (kx_reasm_has_gap(&s->rs[cl]) || kx_reasm_has_gap(&s->rs[!cl])))
				hs->reason = KX_R_GAP;
			else
				hs->reason = why;
		}
		/* last_us has the LRU's one-second resolution: never before the hello. */
		if (!hs->have_sh)
			hs->ts_last_us = f->last_us > hs->ts_first_us ? f->last_us : hs->ts_first_us;
		fill_endpoints(hs, f);
		snprintf(hs->protocol, sizeof(hs->protocol), "%s",
			 s->dtls ? "dtls" : s->quic ? "quic" : s->ssh ? "ssh" : "tls");
		if (s->st_on)
			snprintf(hs->starttls, sizeof(hs->starttls), "%s",
				 kx_starttls_name(kx_starttls_proto(&s->st)));
		if (s->ssh && !hs->preclassified) {
			/* No server KEXINIT: the reason above says why. */
			hs->preclassified = true;
			hs->verdict = KX_V_INCOMPLETE;
		}
		if (s->ssh)
			ssh_check_sizes(hs);
		if (e->dpi_mem && !s->report_empty)
			kx_dpi_label(e->dpi, dpi_flow(e, f->sess), hs->ndpi_label,
				     sizeof(hs->ndpi_label));
		/* Without a label from the packets (a flow picked up mid-stream,
		 * nDPI saw no SYN), the name and address match still applies. */
		if (e->dpi && !hs->ndpi_label[0])
			kx_dpi_label_by_name(e->dpi,
					     s->dtls ? KX_DPI_DTLS : s->quic ? KX_DPI_QUIC :
					     s->ssh ? KX_DPI_SSH : KX_DPI_TLS,
					     hs->sni,
					     hs->server_ip.a,
					     hs->server_ip.family, hs->ndpi_label,
					     sizeof(hs->ndpi_label));
		else if (!hs->ndpi_label[0] && !e->o.no_ndpi)
			hs->ndpi_pending =
				(uint8_t)(1 + (s->dtls ? KX_DPI_DTLS : s->quic ? KX_DPI_QUIC :
					       s->ssh ? KX_DPI_SSH : KX_DPI_TLS));
		kx_classify(hs);
		if (hs->anomalies & (KX_ANOM_CLIENT_SHARE_SIZE | KX_ANOM_SERVER_SHARE_SIZE))
			e->c->kx_share_size_bad++;
		if (hs->anomalies & KX_ANOM_NOT_OFFERED)
			e->c->kx_not_offered++;
		if (hs->anomalies & KX_ANOM_SHARE_UNLISTED)
			e->c->kx_share_unlisted++;
		/* The ClientHello was on the wire but --memcap refused its bytes. */
		if (s->memcap_hit && hs->ch_unseen && !hs->n_ch)
			hs->reason = KX_R_CAPACITY;
		count_verdict(e->c, hs->verdict);
		f->outcome = OUT_HS_ROW;
		e->emit(e->emit_ctx, hs);
	}
	sess_release(e, f);
}

/* ---- TLS messages -> handshake state ---- */

/* Segments whose first copy overlaps stream bytes [start, end). */
static uint16_t count_segments(const struct session *s, int side, uint32_t start, uint32_t end,
			       uint64_t *ret_pkt, uint64_t *ret_ts)
{
	uint16_t n = 0;
	uint64_t last_pkt = 0;
	bool found = false;
	for (unsigned i = 0; i < s->n_log[side]; i++) {
		const struct seg_entry *g = &s->log[side][i];
		if (g->start >= end || g->end <= start)
			continue;
		/* A QUIC datagram can bring several CRYPTO frames: count it once. */
		if (g->pkt != last_pkt)
			n++;
		last_pkt = g->pkt;
		if (g->start <= start && g->end > start && !found) {
			*ret_pkt = g->pkt;
			*ret_ts = g->ts;
			found = true;
		}
	}
	if (!found) {
		*ret_pkt = s->pkt->num;
		*ret_ts = s->pkt->ts_us;
	}
	return (uint16_t)(n + s->log_overflow[side]);
}

static void finalize(struct session *s)
{
	s->phase = PH_FINAL;
}

static bool on_client_hello(struct session *s, const struct kx_tls_msg *m)
{
	struct kx_hs *hs = &s->hs;
	unsigned idx;
	if (s->phase == PH_WAIT_CH)
		idx = 0;
	else if (s->phase == PH_WAIT_CH2)
		idx = 1;
	else
		return false; /* renegotiation or a stray hello: the row is already decided */
	if (!m->body) { /* over --max-msg-bytes: counted by the stream layer */
		s->abandon = idx == 0;
		return true;
	}
	struct kx_client_hello_extra ex;
	struct kx_client_hello *ch = &hs->ch[idx];
	enum kx_parse_rc rc = s->dtls ? kx_tls_parse_dtls_client_hello(m->body, m->len, ch, &ex)
				      : kx_tls_parse_client_hello(m->body, m->len, ch, &ex);
	if (rc != KX_PARSE_OK) {
		s->e->c->tls_malformed++;
		if (idx == 0)
			s->abandon = true;
		else
			hs->reason = KX_R_MALFORMED;
		finalize(s);
		return true;
	}
	uint64_t pkt = 0, ts = 0;
	if (s->quic && ch->ja4[0])
		ch->ja4[0] = 'q';
	ch->bytes = m->len + 4;
	ch->segments = count_segments(s, s->side, m->start_off + s->tls_base[s->side],
				      m->end_off + s->tls_base[s->side], &pkt, &ts);
	if (idx == 0) {
		hs->ts_first_us = ts;
		hs->pkt_first_ch = pkt;
		hs->source_id = s->pkt->source_id;
		hs->iface = s->pkt->iface;
		memcpy(hs->sni, ex.sni, sizeof(hs->sni));
		memcpy(hs->alpn, ex.alpn, sizeof(hs->alpn));
		s->ch_sid_len = ex.session_id_len;
		memcpy(s->ch_sid, ex.session_id, sizeof(s->ch_sid));
		s->phase = PH_WAIT_SH;
	} else {
		s->phase = PH_WAIT_SH2;
	}
	hs->n_ch = (uint8_t)(idx + 1);
	return false;
}

static bool on_server_hello(struct session *s, const struct kx_tls_msg *m)
{
	struct kx_hs *hs = &s->hs;
	if (s->phase == PH_WAIT_CH) {
		/* The capture began after the ClientHello (sensor restarted, ring
		 * dropped it): the server's choice is still worth a row. */
		s->e->c->tls_orphan_server++;
		hs->ch_unseen = true;
		s->phase = PH_WAIT_SH;
	}
	if (s->phase != PH_WAIT_SH && s->phase != PH_WAIT_SH2)
		return false;
	struct kx_server_hello sh;
	if (!m->body || (s->dtls ? kx_tls_parse_dtls_server_hello(m->body, m->len, &sh)
				 : kx_tls_parse_server_hello(m->body, m->len, &sh)) != KX_PARSE_OK) {
		s->e->c->tls_malformed++;
		hs->reason = KX_R_MALFORMED;
		finalize(s);
		return true;
	}
	if (s->quic && sh.ja4s[0])
		sh.ja4s[0] = 'q';
	if (sh.is_hrr) {
		if (s->phase != PH_WAIT_SH || hs->hrr) { /* a second HRR is a protocol error */
			hs->reason = KX_R_MALFORMED;
			finalize(s);
			return true;
		}
		memcpy(hs->ja4s_hrr, sh.ja4s, sizeof(hs->ja4s_hrr));
		hs->hrr = true;
		hs->hrr_group = sh.has_key_share ? sh.group : 0;
		s->phase = PH_WAIT_CH2;
		return false;
	}
	/* Evidence and timing use the segment where the ServerHello begins, as
	 * for the ClientHello; a large ML-KEM-1024 ServerHello spans two. */
	uint64_t sh_pkt = 0, sh_ts = 0;
	count_segments(s, s->side, m->start_off + s->tls_base[s->side],
		       m->end_off + s->tls_base[s->side], &sh_pkt, &sh_ts);
	hs->have_sh = true;
	hs->version = sh.version;
	hs->cipher_suite = sh.cipher_suite;
	memcpy(hs->ja4s, sh.ja4s, sizeof(hs->ja4s));
	hs->pkt_sh = sh_pkt;
	hs->ts_last_us = s->pkt->ts_us;
	hs->ch_to_sh_us = sh_ts >= hs->ts_first_us ? (int64_t)(sh_ts - hs->ts_first_us) : 0;
	if (hs->ch_unseen && !hs->n_ch) {
		hs->ts_first_us = sh_ts;
		hs->source_id = s->pkt->source_id;
		hs->iface = s->pkt->iface;
		hs->ch_to_sh_us = -1;
	}
	if (kx_version_is_13(sh.version)) {
		hs->have_group = sh.has_key_share;
		hs->group = sh.group;
		hs->server_share_len = sh.share_len;
		hs->server_share_seen = sh.has_key_share;
		hs->cert.status = KX_CERT_ENCRYPTED; /* it comes after, encrypted */
		hs->psk_selected = sh.has_psk;
		hs->resumed = sh.has_psk;
		finalize(s);
		return true; /* everything after is encrypted */
	}
	if (sh.session_id_len && sh.session_id_len == s->ch_sid_len &&
	    memcmp(sh.session_id, s->ch_sid, sh.session_id_len) == 0) {
		hs->resumed = true; /* TLS 1.2 session-ID resumption */
		finalize(s);
		return true;
	}
	s->phase = PH_WAIT_SKE;
	return false;
}

/* TLS 1.2 / DTLS 1.2: the leaf of the server's chain (a prefix of the
 * message may be all there is: see KX_TLS_PART_MAX). */
static void on_certificate(struct session *s, const struct kx_tls_msg *m)
{
	struct kx_cert_info ci;
	if (!m->body) {
		s->hs.cert.status = KX_CERT_TOO_BIG; /* no buffer for it */
		s->e->c->cert_unparsed++;
		return;
	}
	kx_cert_parse_tls(m->body, m->len, m->full_len, &ci);
	s->hs.cert.status = ci.status;
	s->hs.cert.key = ci.key;
	s->hs.cert.curve = ci.curve;
	s->hs.cert.sig = ci.sig;
	s->hs.cert.key_bits = ci.key_bits;
	if (ci.status == KX_CERT_SEEN)
		s->e->c->cert_parsed++;
	else
		s->e->c->cert_unparsed++;
}

static bool on_tls_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct session *s = ctx;
	struct kx_flow *f = s->flow;
	if (f->client == 2 && m->content_type == KX_TLS_HANDSHAKE) {
		if (m->hs_type == KX_HS_CLIENT_HELLO)
			f->client = s->side;
		else if (m->hs_type == KX_HS_SERVER_HELLO)
			f->client = !s->side;
	}
	bool from_client = s->side == f->client;
	struct kx_hs *hs = &s->hs;

	switch (m->content_type) {
	case KX_TLS_HANDSHAKE:
		switch (m->hs_type) {
		case KX_HS_CLIENT_HELLO:
			return from_client ? on_client_hello(s, m) : false;
		case KX_HS_SERVER_HELLO:
			return from_client ? false : on_server_hello(s, m);
		case KX_HS_CERTIFICATE:
			if (!from_client && s->phase == PH_WAIT_SKE &&
			    hs->cert.status == KX_CERT_UNSEEN)
				on_certificate(s, m);
			return false;
		case KX_HS_SERVER_KEY_EXCHANGE: {
			if (from_client || s->phase != PH_WAIT_SKE || !m->body)
				return false;
			struct kx_ske_info ske;
			enum kx_parse_rc rc = kx_tls_parse_ske(m->body, m->len, hs->cipher_suite,
							      hs->version, &ske);
			if (rc != KX_PARSE_MALFORMED)
				hs->tls12_kx = ske.kx;
			if (rc == KX_PARSE_OK) {
				hs->have_group = hs->tls12_kx == KX_KX_ECDHE;
				if (ske.have_group)
					hs->group = ske.group;
				hs->server_share_len = ske.point_len;
				hs->server_share_seen = ske.have_group;
				hs->cert.have_ske_sig = ske.have_sig;
				hs->cert.ske_sig = ske.sig;
			}
			finalize(s);
			return true;
		}
		case KX_HS_SERVER_HELLO_DONE:
			if (from_client || s->phase != PH_WAIT_SKE)
				return false;
			if (hs->tls12_kx == KX_KX_NONE)
				hs->tls12_kx = KX_KX_RSA; /* no ServerKeyExchange: static RSA */
			finalize(s);
			return true;
		default:
			return false;
		}
	case KX_TLS_CHANGE_CIPHER_SPEC:
		if (!from_client && s->phase == PH_WAIT_SKE) {
			hs->resumed = true; /* abbreviated handshake: ticket resumption */
			finalize(s);
			return true;
		}
		return false;
	case KX_TLS_ALERT:
		if (s->phase != PH_WAIT_CH) {
			if (!hs->have_sh)
				hs->reason = KX_R_ALERT;
			finalize(s);
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* ---- SSH: banners and KEXINITs -> handshake state ---- */

static bool on_ssh_banner(void *ctx, const struct kx_ssh_banner *b)
{
	struct session *s = ctx;
	bool from_client = s->side == s->flow->client;
	char *dst = from_client ? s->hs.ssh.client_banner : s->hs.ssh.server_banner;
	snprintf(dst, KX_SSH_SW_MAX, "%s", b->line);
	s->e->c->ssh_pre_banner_lines += b->pre_lines;
	return false;
}

static void copy_kex_list(char *dst, const struct kx_ssh_kexinit *k)
{
	const char *l = kx_ssh_list_str(k, KX_SSH_L_KEX);
	snprintf(dst, KX_KEX_LIST_MAX, "%s", l ? l : "");
}

/* The first KEXINIT is kept until the other side's arrives; then the
 * negotiation of RFC 4253 section 7.1 decides the row. */
static bool on_ssh_kexinit(void *ctx, const struct kx_ssh_kexinit *k)
{
	struct session *s = ctx;
	struct kx_hs *hs = &s->hs;
	int side = s->side;
	bool from_client = side == s->flow->client;
	uint64_t pkt = 0, ts = 0;
	uint16_t segs = count_segments(s, side, k->start_off, k->end_off, &pkt, &ts);
	if (from_client) {
		hs->ch[0].bytes = k->packet_len;
		hs->ch[0].segments = segs;
		hs->ts_first_us = ts;
		hs->pkt_first_ch = pkt;
		hs->source_id = s->pkt->source_id;
		hs->iface = s->pkt->iface;
		hs->n_ch = 1;
		hs->ssh.client_offers_pq = k->kex_offers_pq;
		copy_kex_list(hs->ssh.kex_client, k);
		memcpy(hs->ssh.hassh, k->hassh_c2s, sizeof(hs->ssh.hassh));
	} else {
		hs->have_sh = true;
		hs->pkt_sh = pkt;
		hs->ts_last_us = s->pkt->ts_us;
		copy_kex_list(hs->ssh.kex_server, k);
		memcpy(hs->ssh.hassh_server, k->hassh_s2c, sizeof(hs->ssh.hassh_server));
	}
	const struct kx_ssh_kexinit *other = s->kexinit[!side];
	if (!other) {
		if (kx_buf_grow(s->e->pool, (uint8_t **)&s->kexinit[side], &s->kexinit_cap[side],
				sizeof(*k), 0) < 0) {
			s->e->c->reasm_memcap_hits++;
			hs->reason = KX_R_DEPTH;
			finalize(s);
			return true;
		}
		memcpy(s->kexinit[side], k, sizeof(*k));
		return false;
	}
	/* Both sides send KEXINIT unprompted; the server's may even come first. */
	hs->ch_to_sh_us = hs->ts_last_us >= hs->ts_first_us
				  ? (int64_t)(hs->ts_last_us - hs->ts_first_us) : 0;
	struct kx_ssh_result r;
	kx_ssh_negotiate(from_client ? k : other, from_client ? other : k, &r);
	snprintf(hs->ssh.kex, sizeof(hs->ssh.kex), "%s", r.kex);
	snprintf(hs->ssh.hostkey, sizeof(hs->ssh.hostkey), "%s", r.hostkey);
	hs->ssh.client_offers_pq = r.client_offers_pq;
	hs->preclassified = true;
	hs->verdict = r.verdict;
	hs->reason = r.no_common_kex ? KX_R_NO_COMMON_KEX : r.reason;
	uint32_t qc, qs;
	if (kx_ssh_kex_share_sizes(r.kex, &qc, &qs)) {
		/* The row is decided but for the public values' sizes, which
		 * come in the next two messages (unencrypted). */
		s->phase = PH_WAIT_KEX;
		return false;
	}
	finalize(s);
	return true;
}

/* Q_C / Q_S against the negotiated method's sizes: a value that cannot be
 * what the method says never counts (as a TLS key share). */
static void ssh_check_sizes(struct kx_hs *hs)
{
	uint32_t qc, qs;
	if (!hs->preclassified || !hs->ssh.kex[0] || !kx_ssh_kex_share_sizes(hs->ssh.kex, &qc, &qs))
		return;
	if (hs->ssh.q_c_len && hs->ssh.q_c_len != qc)
		hs->anomalies |= KX_ANOM_CLIENT_SHARE_SIZE;
	if (hs->ssh.q_s_len && hs->ssh.q_s_len != qs)
		hs->anomalies |= KX_ANOM_SERVER_SHARE_SIZE;
	if (hs->anomalies && hs->verdict != KX_V_INCOMPLETE) {
		hs->verdict = KX_V_UNKNOWN;
		hs->reason = KX_R_SHARE_SIZE;
	}
}

static bool on_ssh_packet(void *ctx, const struct kx_ssh_packet *p)
{
	struct session *s = ctx;
	struct kx_hs *hs = &s->hs;
	if (s->phase != PH_WAIT_KEX || !p->payload)
		return false;
	bool from_client = s->side == s->flow->client;
	uint32_t q = 0;
	if (p->msg != (from_client ? KX_SSH_MSG_KEX_ECDH_INIT : KX_SSH_MSG_KEX_ECDH_REPLY))
		return false;
	if (kx_ssh_parse_ecdh(p->payload, p->payload_len, &q) != KX_SSH_OK) {
		s->e->c->ssh_ecdh_malformed++;
		q = 0;
	}
	if (from_client) {
		hs->ssh.q_c_len = q;
		return false;
	}
	hs->ssh.q_s_len = q;
	/* The reply answers the init: nothing more to wait for. */
	finalize(s);
	return true;
}

static bool on_stream_bytes(void *ctx, const uint8_t *data, uint32_t len)
{
	struct session *s = ctx;
	bool stop;
	if (s->ssh) {
		struct kx_ssh_env env = { s->e->pool, on_ssh_banner, on_ssh_kexinit, on_ssh_packet,
					  s };
		stop = kx_ssh_stream_feed(&s->sshs[s->side], &env, data, len);
	} else {
		if (s->st_on && !s->st_tls[s->side]) {
			bool tls = false;
			uint32_t n = kx_starttls_feed(&s->st, s->side == s->flow->client, data, len, &tls);
			if (kx_starttls_gave_up(&s->st)) {
				s->st_gave_up = true;
				return true;
			}
			if (!tls)
				return false;
			/* The rest of this piece is the first TLS byte on. The
			 * reassembler has already advanced past the piece. */
			s->st_tls[s->side] = true;
			s->tls_base[s->side] = s->rs[s->side].next - len + n;
			data += n;
			len -= n;
			if (!len)
				return false;
		}
		struct kx_tls_env env = { s->e->pool, s->e->c, on_tls_msg, s };
		stop = kx_tls_stream_feed(&s->tls[s->side], &env, data, len);
	}
	return stop || s->phase == PH_FINAL;
}

static void flow_bypass(struct kx_engine *e, struct kx_flow *f);

/* ---- sessions without a visible handshake (plain.h) ---- */

/* The server side of a flow whose SYN was not seen: the side whose port
 * names a known service, else the lower port. */
static void guess_client(struct kx_flow *f, int dir, enum kx_app by_payload, bool payload_is_client)
{
	if (f->client <= 1)
		return;
	if (by_payload != KX_APP_UNKNOWN) {
		f->client = payload_is_client ? (uint8_t)dir : (uint8_t)!dir;
		return;
	}
	bool a_known = kx_app_from_tcp_port(f->key.pa) != KX_APP_UNKNOWN;
	bool b_known = kx_app_from_tcp_port(f->key.pb) != KX_APP_UNKNOWN;
	if (a_known != b_known)
		f->client = a_known ? 1 : 0;
	else
		f->client = f->key.pa < f->key.pb ? 1 : 0;
}

/* Turns the flow into a counted session; its record is made when it ends.
 * `bytes` are payload bytes already seen (a STARTTLS module's cleartext). */
static void flow_to_plain(struct kx_engine *e, struct kx_flow *f, enum kx_app app,
			  enum kx_reason why, uint64_t bytes_client, uint64_t bytes_server)
{
	sess_release(e, f);
	f->state = KX_FLOW_PLAIN;
	f->app = (uint8_t)app;
	f->preason = (uint8_t)why;
	int cl = f->client == 1;
	f->bytes[cl] = bytes_client > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes_client;
	f->bytes[!cl] = bytes_server > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes_server;
	e->c->flows_not_tls++;
}

static void plain_count(struct kx_flow *f, const struct kx_pkt *p, int dir)
{
	uint32_t b = f->bytes[dir];
	f->bytes[dir] = b + p->payload_len < b ? UINT32_MAX : b + p->payload_len;
}

/* The first payload of a flow that is not a hello, an SSH banner or a
 * protocol that may upgrade in-band. */
static void plain_start(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p, int dir,
			bool from_start)
{
	if (kx_plain_looks_like_tls_data(p->payload, p->payload_len)) {
		guess_client(f, dir, KX_APP_UNKNOWN, false);
		flow_to_plain(e, f, KX_APP_TLS, KX_R_HANDSHAKE_UNSEEN, 0, 0);
	} else if (e->o.plaintext == KX_PLAINTEXT_NONE) {
		e->c->flows_not_tls++;
		f->outcome = OUT_PLAIN_OFF;
		flow_bypass(e, f);
		return;
	} else {
		bool is_client = f->client <= 1 ? dir == f->client : true;
		enum kx_app app = kx_app_from_payload(is_client, p->payload, p->payload_len);
		if (app == KX_APP_UNKNOWN && f->client > 1) {
			app = kx_app_from_payload(false, p->payload, p->payload_len);
			is_client = false;
		}
		/* Picked up mid-stream, bytes nobody recognises may be the middle
		 * of anything (a certificate chain, an evicted flow's rest):
		 * plaintext needs the connection's start or a known protocol. */
		if (app == KX_APP_UNKNOWN && !from_start) {
			flow_bypass(e, f);
			return;
		}
		guess_client(f, dir, app, is_client);
		if (app == KX_APP_UNKNOWN)
			app = kx_app_from_tcp_port(f->client == 0 ? f->key.pb : f->key.pa);
		/* psql sslmode=disable opens with its StartupMessage: a protocol
		 * that could have upgraded in-band, and the client did not ask. */
		flow_to_plain(e, f, app,
			      kx_app_can_upgrade(app) ? KX_R_STARTTLS_NOT_OFFERED : KX_R_NO_TLS, 0, 0);
	}
	f->pmask |= (uint8_t)(1u << dir);
	plain_count(f, p, dir);
}

/* A session followed through its cleartext phase that never upgraded. */
static void starttls_to_plain(struct kx_engine *e, struct kx_flow *f, struct session *s)
{
	enum kx_app app = kx_app_from_starttls(kx_starttls_proto(&s->st));
	if (app == KX_APP_UNKNOWN)
		app = kx_app_from_tcp_port(f->client == 0 ? f->key.pb : f->key.pa);
	if (e->o.plaintext == KX_PLAINTEXT_NONE) {
		e->c->flows_not_tls++;
		f->outcome = OUT_PLAIN_OFF;
		flow_bypass(e, f);
		return;
	}
	flow_to_plain(e, f, app, kx_starttls_outcome(&s->st), s->st.d[0].bytes, s->st.d[1].bytes);
}

/* The record of a session at its end: plaintext needs payload both ways
 * (one way is a scan, a refused connection or a half-seen flow, counted
 * apart); an encrypted session without its handshake counts as it is. */
static void plain_finish(struct kx_engine *e, struct kx_flow *f)
{
	bool unseen = f->preason == KX_R_HANDSHAKE_UNSEEN;
	if (!unseen && f->pmask != 3 && f->key.proto == 6) {
		e->c->flow_one_sided++;
		return;
	}
	struct kx_hs *hs = &e->scratch;
	memset(hs, 0, sizeof(*hs));
	fill_endpoints(hs, f);
	hs->is_session = true;
	hs->ts_first_us = f->first_us;
	hs->ts_last_us = f->last_us > f->first_us ? f->last_us : f->first_us;
	hs->pkt_first_ch = f->first_pkt;
	hs->source_id = e->source_id;
	hs->iface = e->iface;
	hs->ch_to_sh_us = -1;
	hs->verdict = unseen ? KX_V_NO_VERDICT : KX_V_PLAINTEXT;
	hs->reason = (enum kx_reason)f->preason;
	hs->bytes = (uint64_t)f->bytes[0] + f->bytes[1];
	const char *app = kx_app_name((enum kx_app)f->app);
	snprintf(hs->app, sizeof(hs->app), "%s", app);
	snprintf(hs->protocol, sizeof(hs->protocol), "%s", app);
	if (unseen)
		e->c->flow_unseen++;
	else
		e->c->flow_plaintext++;
	e->emit(e->emit_ctx, hs);
}

/* A handshake that could not be followed because --max-handshakes
 * contexts are in use: its endpoints still make a row. */
static void capacity_row(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p, int dir,
			 const char *protocol)
{
	if (f->client > 1)
		f->client = (uint8_t)dir;
	struct kx_hs *hs = &e->scratch;
	memset(hs, 0, sizeof(*hs));
	fill_endpoints(hs, f);
	hs->ts_first_us = hs->ts_last_us = p->ts_us;
	hs->pkt_first_ch = p->num;
	hs->source_id = p->source_id;
	hs->iface = p->iface;
	hs->ch_to_sh_us = -1;
	hs->verdict = KX_V_INCOMPLETE;
	hs->reason = KX_R_CAPACITY;
	snprintf(hs->protocol, sizeof(hs->protocol), "%s", protocol);
	if (!e->o.no_ndpi && !e->dpi)
		hs->ndpi_pending = (uint8_t)(1 + (strcmp(protocol, "quic") == 0  ? KX_DPI_QUIC
						  : strcmp(protocol, "ssh") == 0 ? KX_DPI_SSH
										  : KX_DPI_TLS));
	count_verdict(e->c, hs->verdict);
	f->outcome = OUT_CAPACITY;
	e->emit(e->emit_ctx, hs);
}

/* ---- flows ---- */

static void ledger(struct kx_engine *e, const struct kx_flow *f)
{
	switch (f->outcome) {
	case OUT_HS_ROW: e->c->flow_hs_row++; return;
	case OUT_CAPACITY: e->c->flow_capacity++; return;
	case OUT_PLAIN_OFF: e->c->flow_plain_off++; return;
	default: break;
	}
	if (f->state == KX_FLOW_PLAIN)
		return; /* counted by plain_finish */
	if (!f->pmask)
		e->c->flow_no_payload++;
	else
		e->c->flow_unrecognised++;
}

static void flow_end(struct kx_engine *e, struct kx_flow *f, enum kx_reason why)
{
	struct session *s = sess_of(e, f);
	/* A cleartext phase that ended before the module gave up. */
	if (s && s->st_on && !s->hs.n_ch && !s->st_tls[0] && !s->st_tls[1] && f->client <= 1)
		starttls_to_plain(e, f, s);
	if (f->state == KX_FLOW_PLAIN)
		plain_finish(e, f);
	else
		sess_finish(e, f, why);
	ledger(e, f);
	kx_flow_remove(e->ft, f);
}

static void flow_bypass(struct kx_engine *e, struct kx_flow *f)
{
	sess_release(e, f);
	f->state = KX_FLOW_BYPASS;
	e->c->flows_bypassed++;
}

static void expire_idle(struct kx_engine *e, const struct kx_flow *cur, int budget)
{
	for (; budget > 0; budget--) {
		struct kx_flow *o = kx_flow_oldest(e->ft);
		if (!o || o == cur || o->last_us + e->idle_us >= e->now_us)
			return;
		e->c->flows_expired_idle++;
		flow_end(e, o, KX_R_TIMEOUT);
	}
}

static struct kx_flow *flow_new(struct kx_engine *e, const struct kx_flow_key *k)
{
	struct kx_flow *f = kx_flow_insert(e->ft, k, e->now_us);
	if (!f) {
		/* Recycle the oldest flow, but spare a handshake in progress if one
		 * of the next few oldest has nothing pending: a flood of new flows
		 * then churns through finished ones first. */
		struct kx_flow *o = kx_flow_oldest(e->ft);
		struct kx_flow *victim = o;
		for (int i = 0; i < EVICT_SCAN && victim && victim->sess != KX_NONE; i++)
			victim = kx_flow_newer(e->ft, victim);
		if (victim)
			o = victim;
		if (!o) {
			e->c->flows_refused++;
			return NULL;
		}
		e->c->flows_evicted_full++;
		flow_end(e, o, KX_R_EVICTED);
		f = kx_flow_insert(e->ft, k, e->now_us);
		if (!f)
			return NULL;
	}
	e->c->flows_created++;
	return f;
}

static void log_range(struct session *s, int side, uint32_t start, uint32_t len,
		      const struct kx_pkt *p)
{
	if (s->n_log[side] == SEG_LOG) {
		s->log_overflow[side]++;
		return;
	}
	struct seg_entry *g = &s->log[side][s->n_log[side]++];
	g->start = start;
	g->end = start + len;
	g->pkt = p->num;
	g->ts = p->ts_us;
}

static void log_segment(struct session *s, int side, const struct kx_pkt *p, uint32_t seq)
{
	log_range(s, side, seq - s->rs[side].isn, p->payload_len, p);
}

static void unlog_segment(struct session *s, int side)
{
	if (s->log_overflow[side])
		s->log_overflow[side]--;
	else if (s->n_log[side])
		s->n_log[side]--;
}

/* Turns a context into an SSH one. Without a SYN the client is the side
 * not on port 22, else the one on the higher port. */
static void start_ssh(struct session *s, struct kx_flow *f, int dir, bool copy_always)
{
	(void)dir;
	s->ssh = true;
	memset(&s->hs.ssh, 0, sizeof(s->hs.ssh));
	for (int d = 0; d < 2; d++) {
		kx_ssh_stream_init(&s->sshs[d], KX_SSH_MAX_PACKET);
		s->sshs[d].copy_always = copy_always;
	}
	if (f->client > 1) {
		if (f->key.pb == 22 || (f->key.pa != 22 && f->key.pa > f->key.pb))
			f->client = 0;
		else
			f->client = 1;
	}
}

static void handle_payload(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p, int dir)
{
	bool syn_known = f->syn_mask >> dir & 1;
	/* TCP Fast Open (RFC 7413): a SYN's data begins at ISN + 1, the SYN
	 * itself takes one sequence number. A server that ignores it gets the
	 * same bytes again at ISN + 1 after the handshake: a duplicate. */
	uint32_t seq = p->seq + (p->tcp_flags & KX_TCP_SYN ? 1u : 0u);
	struct session *s = sess_of(e, f);
	if (!s || !s->rs[dir].started) {
		bool at_start = syn_known && seq == f->isn[dir];
		if (s && s->ssh_pending && dir == f->client && at_start) {
			/* A server's text lines made this SSH: only the client's
			 * version line confirms it. */
			if (!kx_ssh_looks_like_banner(p->payload, p->payload_len)) {
				plain_start(e, f, p, dir, at_start);
				return;
			}
			s->ssh_pending = false;
		}
		/* SSH by its version line; by port 22 for a server that sends other
		 * lines before it (RFC 4253 section 4.2 allows that); and, once one
		 * side is SSH, the other side from its first byte, whatever lines
		 * come before its version line (the SSH stream bounds them). */
		bool port22 = (dir == 0 ? f->key.pa : f->key.pb) == 22;
		bool ssh = (at_start || !syn_known) && (!s || s->ssh || !s->hs.n_ch) &&
			   (kx_ssh_looks_like_banner(p->payload, p->payload_len) ||
			    (port22 && at_start) || (at_start && s && s->ssh));
		/* Picked up after the version lines: a KEXINIT in clear. */
		bool ssh_late = !ssh && !syn_known &&
				(s ? s->ssh : kx_ssh_looks_like_kexinit(p->payload, p->payload_len));
		ssh = ssh || ssh_late;
		bool hello = !ssh && kx_tls_looks_like_hello(p->payload, p->payload_len);
		if (ssh && !(s && s->ssh)) {
			if (!s && !(s = sess_new(e, f, p))) {
				capacity_row(e, f, p, dir, "ssh");
				flow_bypass(e, f);
				return;
			}
			f->state = KX_FLOW_ACTIVE;
			start_ssh(s, f, dir, e->o.no_fastpath);
			if (ssh_late)
				for (int d = 0; d < 2; d++)
					s->sshs[d].state = KX_SSH_S_PACKETS;
		}
		/* A cleartext protocol that may upgrade in-band (SMTP STARTTLS,
		 * PostgreSQL SSLRequest, ...), recognised by its own first bytes. */
		bool follow = false;
		if (!ssh && !hello) {
			if (s && s->st_on) {
				follow = true;
			} else if (at_start && f->client <= 1 && (!s || !s->hs.n_ch) &&
				   kx_starttls_looks_like(dir == f->client, p->payload,
							  p->payload_len)) {
				if (!s && !(s = sess_new(e, f, p))) {
					/* No context to follow the cleartext phase. */
					f->outcome = OUT_CAPACITY;
					flow_bypass(e, f);
					return;
				}
				f->state = KX_FLOW_ACTIVE;
				s->st_on = true;
				kx_starttls_init(&s->st);
				kx_starttls_set_port(&s->st, f->client == 0 ? f->key.pb : f->key.pa);
				follow = true;
			}
		}
		if (!hello && !ssh && !follow && at_start && dir != f->client && f->client <= 1 &&
		    !(s && (s->hs.n_ch || s->rs[!dir].started)) &&
		    kx_ssh_looks_like_preamble(p->payload, p->payload_len)) {
			/* A server that speaks first with text lines, on another port
			 * than 22: perhaps the lines before an SSH version line.
			 * Followed as SSH until the client's first bytes say. */
			if (!s && !(s = sess_new(e, f, p))) {
				flow_bypass(e, f);
				return;
			}
			f->state = KX_FLOW_ACTIVE;
			start_ssh(s, f, dir, e->o.no_fastpath);
			s->ssh_pending = true;
			ssh = true;
		}
		if (!hello && !ssh && !follow && (at_start || !syn_known)) {
			/* This direction does not begin with a TLS hello. */
			if (!s || !s->hs.n_ch) {
				plain_start(e, f, p, dir, at_start);
				return;
			}
			/* The server's start was not captured: its answer is lost. */
			s->tls[dir].failed = true;
			return;
		}
		if (!s) {
			s = sess_new(e, f, p);
			if (!s) {
				capacity_row(e, f, p, dir, "tls");
				flow_bypass(e, f);
				return;
			}
			f->state = KX_FLOW_ACTIVE;
		}
		if (syn_known) {
			kx_reasm_start(&s->rs[dir], f->isn[dir]);
		} else {
			kx_reasm_start(&s->rs[dir], seq);
			f->isn[dir] = seq;
			e->c->reasm_midstream++;
		}
	}
	struct kx_reasm_env env = { e->pool, e->c, e->o.max_stream_bytes, e->o.no_fastpath };
	s->e = e;
	s->flow = f;
	s->pkt = p;
	s->side = (uint8_t)dir;
	log_segment(s, dir, p, seq);
	uint64_t memcap_hits = e->c->reasm_memcap_hits;
	kx_reasm_push(&s->rs[dir], &env, seq, p->payload, p->payload_len, on_stream_bytes, s);
	if (e->c->reasm_memcap_hits != memcap_hits)
		s->memcap_hit = true;
	if (!s->rs[dir].last_new)
		unlog_segment(s, dir);
	if (s->st_gave_up && !s->hs.n_ch) {
		starttls_to_plain(e, f, s); /* a cleartext session that never upgraded */
	} else if (s->phase == PH_FINAL) {
		sess_finish(e, f, KX_R_NONE);
		f->state = KX_FLOW_BYPASS;
		e->c->flows_bypassed++;
	} else if (s->tls[0].failed && s->tls[1].failed) {
		sess_finish(e, f, KX_R_MALFORMED);
		f->state = KX_FLOW_BYPASS;
	}
}

/* Gives nDPI the packet while it still wants one (--ndpi-packets). */
static void dpi_feed(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p)
{
	struct session *s = sess_of(e, f);
	if (s && !s->dpi_done)
		s->dpi_done = kx_dpi_packet(e->dpi, dpi_flow(e, f->sess), p->l3, p->l3_len,
					    p->ts_us / 1000) ||
			      ++s->dpi_pkts >= DPI_MAX_PACKETS;
}

/* ---- QUIC ---- */

/* A CRYPTO frame of an opened Initial packet: the offset is the stream
 * position, so the TCP reassembler serves with offset 0 as its "ISN". */
static bool on_crypto(void *ctx, uint64_t offset, const uint8_t *data, uint32_t len)
{
	struct session *s = ctx;
	struct kx_engine *e = s->e;
	int side = s->side;
	if (offset >= e->o.max_stream_bytes) {
		if (!s->rs[side].depth_reached)
			e->c->reasm_depth_reached++;
		s->rs[side].depth_reached = true;
		return false;
	}
	struct kx_reasm_env env = { e->pool, e->c, e->o.max_stream_bytes, e->o.no_fastpath };
	log_range(s, side, (uint32_t)offset, len, s->pkt);
	kx_reasm_push(&s->rs[side], &env, (uint32_t)offset, data, len, on_stream_bytes, s);
	if (!s->rs[side].last_new)
		unlog_segment(s, side);
	return s->phase == PH_FINAL;
}

/* A server's Retry (RFC 9000 section 17.2.5): the client's next Initials go
 * to the Retry's Source Connection ID, and both directions' Initial keys
 * come from it. Followed as the client does: the first Retry whose
 * integrity tag verifies and that carries a token, and none after another
 * Retry or the server's first Initial (section 17.2.5.2). */
static void quic_retry(struct kx_engine *e, struct session *s, const struct kx_pkt *p)
{
	struct kx_quic_retry r;
	if (s->q_retry || s->q_server_open ||
	    kx_quic_retry(e->qc, p->payload, p->payload_len, s->qsec.odcid, s->qsec.odcid_len,
			  &r) != KX_QUIC_OK ||
	    kx_quic_derive_initial(r.version, r.scid, r.scid_len, &s->qsec) < 0) {
		e->c->quic_retry_ignored++;
		return;
	}
	s->q_retry = true;
	e->c->quic_retry_followed++;
}

static void handle_quic(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p, int dir)
{
	struct session *s = sess_of(e, f);
	struct kx_quic_datagram_info info;
	if (!s) {
		/* Only a client's first Initial starts a QUIC flow (see kx_engine_packet). */
		if (!kx_quic_looks_like_initial(p->payload, p->payload_len, &info)) {
			flow_bypass(e, f);
			return;
		}
		if (!(s = sess_new(e, f, p))) {
			capacity_row(e, f, p, dir, "quic");
			flow_bypass(e, f);
			return;
		}
		f->state = KX_FLOW_ACTIVE;
		f->client = (uint8_t)dir;
		s->quic = true;
		kx_quic_derive_initial(info.version, info.dcid, info.dcid_len, &s->qsec);
		for (int d = 0; d < 2; d++) {
			kx_tls_stream_bare(&s->tls[d]);
			kx_reasm_start(&s->rs[d], 0);
		}
	}
	if (!s->quic) {
		flow_bypass(e, f);
		return;
	}
	dpi_feed(e, f, p);
	bool from_client = dir == f->client;
	s->e = e;
	s->flow = f;
	s->pkt = p;
	s->side = (uint8_t)dir;
	enum kx_quic_rc rc = kx_quic_datagram(e->qc, p->payload, p->payload_len, from_client,
					      &s->qsec, on_crypto, s, &info);
	if (!from_client && info.retry) {
		quic_retry(e, s, p);
	} else if (rc == KX_QUIC_DECRYPT_FAILED && from_client && info.first_is_initial) {
		/* Keys from the datagram's own DCID. A new attempt on the same
		 * port (after Version Negotiation, or after a Retry the capture
		 * missed) keeps them, for both directions. After a Retry they
		 * read, once, an Initial the client sent before the Retry reached
		 * it but that was captured after it. */
		struct kx_quic_secrets own;
		if (kx_quic_derive_initial(info.version, info.dcid, info.dcid_len, &own) == 0) {
			bool keep = !s->q_retry && !s->q_server_open;
			rc = kx_quic_datagram(e->qc, p->payload, p->payload_len, true, &own, on_crypto,
					      s, &info);
			if (keep && rc != KX_QUIC_DECRYPT_FAILED)
				s->qsec = own;
		}
	}
	if (!from_client && info.decrypted)
		s->q_server_open = true;
	e->c->quic_initials += info.decrypted;
	if (rc == KX_QUIC_MALFORMED || rc == KX_QUIC_DECRYPT_FAILED)
		e->c->quic_undecryptable++;
	if (s->phase == PH_FINAL) {
		sess_finish(e, f, KX_R_NONE);
		f->state = KX_FLOW_BYPASS;
		e->c->flows_bypassed++;
	}
}

/* ---- DTLS ---- */

/* Handshake messages a DTLS stream assembles: the TLS ones and the
 * HelloVerifyRequest of the cookie exchange. */
#define DTLS_HELLOS (ALL_HELLOS | (1u << KX_HS_HELLO_VERIFY_REQUEST) | \
		     (1u << KX_HS_CERTIFICATE))

/* A hello fragment that brought new bytes, logged like a TCP segment at its
 * virtual offset: the hellos' datagram counts, first packets and times. */
static void on_dtls_frag(void *ctx, uint8_t type, uint32_t voff, uint32_t len)
{
	struct session *s = ctx;
	if (type == KX_HS_CLIENT_HELLO || type == KX_HS_SERVER_HELLO)
		log_range(s, s->side, voff, len, s->pkt);
}

/* The TLS state machine plus what only DTLS has. A HelloVerifyRequest (RFC
 * 6347 section 4.2.1) is recorded like a HelloRetryRequest without its
 * flag: both ClientHellos are kept (the second echoes the cookie), hrr stays
 * 0 since no group was asked for. After it, and after a HelloRetryRequest,
 * the server's numbering starts again from its ServerHello. */
static bool on_dtls_msg(void *ctx, const struct kx_tls_msg *m)
{
	struct session *s = ctx;
	struct kx_hs *hs = &s->hs;
	bool from_server = s->side != s->flow->client;
	bool server_hello = from_server && m->content_type == KX_TLS_HANDSHAKE &&
			    (m->hs_type == KX_HS_SERVER_HELLO ||
			     m->hs_type == KX_HS_HELLO_VERIFY_REQUEST);
	bool stop = false;
	if (server_hello && m->hs_type == KX_HS_HELLO_VERIFY_REQUEST) {
		uint16_t v;
		uint8_t cookie_len;
		if (s->phase == PH_WAIT_SH && !hs->hrr && !s->dtls_hvr && m->body) {
			if (kx_dtls_parse_hello_verify_request(m->body, m->len, &v, &cookie_len) !=
			    KX_PARSE_OK) {
				s->e->c->tls_malformed++;
				hs->reason = KX_R_MALFORMED;
				finalize(s);
				return true;
			}
			s->dtls_hvr = true;
			s->e->c->dtls_hello_verify++;
			s->phase = PH_WAIT_CH2;
		}
	} else {
		bool had_ch = hs->n_ch > 0;
		stop = on_tls_msg(ctx, m);
		if (!had_ch && hs->n_ch) {
			/* The ClientHello is whole: no longer a lost first fragment. */
			s->report_empty = false;
			if (hs->reason == KX_R_GAP)
				hs->reason = KX_R_NONE;
		}
	}
	if (server_hello && s->phase == PH_WAIT_CH2)
		kx_dtls_stream_rebase(&s->ds[s->side]);
	return stop;
}

/* A UDP datagram of a DTLS flow, or the ClientHello that starts one.
 * Returns false when the flow is not (and does not become) DTLS. */
static bool handle_dtls(struct kx_engine *e, struct kx_flow *f, const struct kx_pkt *p, int dir)
{
	struct session *s = sess_of(e, f);
	if (!s) {
		if (!kx_dtls_looks_like_client_hello(p->payload, p->payload_len))
			return false;
		if (!(s = sess_new(e, f, p))) {
			capacity_row(e, f, p, dir, "dtls");
			flow_bypass(e, f);
			return true;
		}
		f->state = KX_FLOW_ACTIVE;
		f->client = (uint8_t)dir;
		s->dtls = true;
		for (int d = 0; d < 2; d++) {
			kx_dtls_stream_init(&s->ds[d], DTLS_HELLOS, e->o.max_msg_bytes,
					    e->o.no_fastpath);
			/* A certificate too large for --max-message-bytes or the
			 * memcap is left unread; the handshake goes on. */
			s->ds[d].opt_mask = 1u << KX_HS_CERTIFICATE;
		}
		/* Until the ClientHello is whole the row says its first piece
		 * came and the rest did not (as a TCP ClientHello behind a gap). */
		s->report_empty = true;
		s->hs.reason = KX_R_GAP;
		s->hs.ts_first_us = p->ts_us;
		s->hs.pkt_first_ch = p->num;
	}
	if (!s->dtls)
		return false;
	dpi_feed(e, f, p);
	s->e = e;
	s->flow = f;
	s->pkt = p;
	s->side = (uint8_t)dir;
	struct kx_dtls_env env = { e->pool, e->c, on_dtls_msg, on_dtls_frag, s };
	kx_dtls_stream_feed(&s->ds[dir], &env, p->payload, p->payload_len);
	if (s->ds[dir].failed && !s->tls[dir].failed) {
		s->tls[dir].failed = true; /* sess_finish: malformed */
		if (dir == f->client && !s->hs.n_ch)
			s->abandon = true; /* as a TLS ClientHello over the cap */
	}
	if (s->phase == PH_FINAL) {
		sess_finish(e, f, KX_R_NONE);
		f->state = KX_FLOW_BYPASS;
		e->c->flows_bypassed++;
	} else if (s->tls[0].failed && s->tls[1].failed) {
		sess_finish(e, f, KX_R_MALFORMED);
		f->state = KX_FLOW_BYPASS;
	}
	return true;
}

/* A decoded packet, its flow key and the key's bucket. */
struct decoded {
	struct kx_pkt p;
	struct kx_flow_key key;
	uint32_t hash;
	int dir;
	bool ok;
	bool frag;  /* when !ok: an IP fragment, for the defragmenter (no key) */
};

static void decode_frame(struct kx_engine *e, int link, const struct kx_frame *fr, uint64_t num,
			 uint32_t source_id, struct decoded *d)
{
	struct kx_counters *c = e->c;
	c->packets++;
	c->bytes += fr->wirelen;
	c->captured_bytes += fr->caplen;
	enum kx_decode_rc rc = kx_decode(link, fr->data, fr->caplen, &d->p, c);
	d->ok = rc == KX_DECODE_OK;
	if (!d->ok) {
		d->frag = rc == KX_DECODE_FRAGMENT; /* read only when !ok */
		if (!d->frag)
			return;
	}
	d->p.ts_us = fr->ts_us;
	d->p.num = num;
	d->p.source_id = source_id;
	d->p.iface = fr->iface;
	d->p.wire_len = fr->wirelen;
	if (!d->ok)
		return;
	kx_flow_key_from_pkt(&d->p, &d->key, &d->dir);
	d->hash = kx_flow_hash(e->ft, &d->key);
}

static void packet(struct kx_engine *e, struct decoded *d);

/* A fragment: when it completes its datagram, the datagram goes on as a
 * packet of its own, with the fragment's number and time. A datagram can
 * hold a tunnel whose inner packet is a fragment again: each round peels
 * at least one tunnel, so the loop is bounded by the tunnel depth. */
static void fragment(struct kx_engine *e, struct decoded *d)
{
	if (!e->df) {
		e->c->skip_ip_fragment++;
		return;
	}
	for (int round = 0; round <= KX_MAX_TUNNEL_DEPTH; round++) {
		const uint8_t *ip;
		uint32_t len;
		if (!kx_defrag_add(e->df, &d->p, e->c, &ip, &len))
			return;
		enum kx_decode_rc rc = kx_decode_datagram(ip, len, &d->p, e->c);
		if (rc == KX_DECODE_OK) {
			kx_flow_key_from_pkt(&d->p, &d->key, &d->dir);
			d->hash = kx_flow_hash(e->ft, &d->key);
			packet(e, d);
			return;
		}
		if (rc != KX_DECODE_FRAGMENT)
			return;
	}
}

void kx_engine_packet(struct kx_engine *e, int link, const struct kx_frame *fr, uint64_t num,
		      uint32_t source_id)
{
	struct decoded d;
	decode_frame(e, link, fr, num, source_id, &d);
	if (d.ok)
		packet(e, &d);
	else if (d.frag)
		fragment(e, &d);
}

void kx_engine_packets(struct kx_engine *e, int link, const struct kx_frame *fr, int n,
		       uint64_t first_num, uint32_t source_id)
{
	struct decoded d[KX_ENGINE_BATCH];
	/* Decode all, so every packet's bucket load is in flight before the
	 * first lookup; then, a few packets ahead, the bucket's first flow. */
	for (int i = 0; i < n && i < KX_ENGINE_BATCH; i++) {
		decode_frame(e, link, &fr[i], first_num + (uint64_t)i, source_id, &d[i]);
		if (d[i].ok)
			kx_flow_prefetch_bucket(e->ft, d[i].hash);
	}
	for (int i = 0; i < n && i < KX_ENGINE_BATCH; i++) {
		if (i + 4 < n && d[i + 4].ok)
			kx_flow_prefetch_flow(e->ft, d[i + 4].hash);
		if (d[i].ok)
			packet(e, &d[i]);
		else if (d[i].frag)
			fragment(e, &d[i]); /* in order: its datagram may complete here */
	}
}

/* A UDP datagram that starts no handshake but is a session worth a record:
 * a QUIC connection whose Initials were not captured, or a service on the
 * documented list of cleartext UDP protocols (plain.h). */
static enum kx_app udp_session_app(const struct kx_engine *e, const struct kx_pkt *p,
				   int *ret_server)
{
	if ((p->dport == 443 || p->sport == 443 || p->dport == 8443 || p->sport == 8443) &&
	    kx_plain_looks_like_quic_later(p->payload, p->payload_len)) {
		*ret_server = p->dport == 443 || p->dport == 8443;
		return KX_APP_QUIC;
	}
	if (e->o.plaintext != KX_PLAINTEXT_ALL)
		return KX_APP_UNKNOWN;
	return kx_app_udp_listed(p->sport, p->dport, ret_server);
}

static void packet(struct kx_engine *e, struct decoded *d)
{
	const struct kx_pkt *p = &d->p;
	int dir = d->dir;
	const struct kx_flow_key *key = &d->key;
	if (p->ts_us > e->now_us)
		e->now_us = p->ts_us;
	struct kx_flow *f = kx_flow_find_hashed(e->ft, key, d->hash);
	if (!f) {
		/* Only a SYN or payload starts tracking a TCP flow (stray ACKs and
		 * RSTs of unknown connections would just fill the table), and only a
		 * client's QUIC Initial or DTLS ClientHello a UDP one, and a session
		 * worth a record (udp_session_app); DNS and the rest stay out. */
		enum kx_app udp_app = KX_APP_UNKNOWN;
		int udp_server = 0;
		if (p->proto == 17) {
			struct kx_quic_datagram_info qi;
			if (p->payload_truncated || !p->payload_len)
				return;
			if (!kx_quic_looks_like_initial(p->payload, p->payload_len, &qi) &&
			    !kx_dtls_looks_like_client_hello(p->payload, p->payload_len) &&
			    (udp_app = udp_session_app(e, p, &udp_server)) == KX_APP_UNKNOWN)
				return;
		} else {
			bool syn = (p->tcp_flags & (KX_TCP_SYN | KX_TCP_RST)) == KX_TCP_SYN;
			if (!syn && p->payload_len == 0)
				return;
		}
		f = flow_new(e, key);
		if (!f)
			return;
		f->tunnel_tag = p->tunnel_tag;
		f->first_pkt = (uint32_t)p->num;
		if (udp_app != KX_APP_UNKNOWN) {
			/* udp_server: 1 when the destination is the server. */
			f->client = (uint8_t)(udp_server ? dir : !dir);
			flow_to_plain(e, f, udp_app,
				      udp_app == KX_APP_QUIC ? KX_R_HANDSHAKE_UNSEEN : KX_R_NO_TLS, 0, 0);
		}
	} else {
		kx_flow_touch(e->ft, f, p->ts_us);
	}
	expire_idle(e, f, EXPIRE_BUDGET);
	e->source_id = p->source_id;
	e->iface = p->iface;
	if (p->payload_len) {
		f->pmask |= (uint8_t)(1u << dir);
		if (f->state == KX_FLOW_PLAIN)
			plain_count(f, p, dir);
	}

	if (p->proto == 17) {
		if (f->state == KX_FLOW_BYPASS && !p->payload_truncated &&
		    kx_dtls_is_first_client_hello(p->payload, p->payload_len)) {
			/* A new DTLS association where an old one finished. */
			flow_end(e, f, KX_R_NONE);
			if (!(f = flow_new(e, key)))
				return;
			f->tunnel_tag = p->tunnel_tag;
			f->first_pkt = (uint32_t)p->num;
		}
		if (f->state < KX_FLOW_BYPASS && p->payload_len && !p->payload_truncated &&
		    !handle_dtls(e, f, p, dir))
			handle_quic(e, f, p, dir);
		return;
	}
	if (f->state < KX_FLOW_BYPASS) {
		if (p->tcp_flags & KX_TCP_SYN) {
			f->client = (p->tcp_flags & KX_TCP_ACK) ? (uint8_t)!dir : (uint8_t)dir;
			f->isn[dir] = p->seq + 1;
			f->syn_mask |= (uint8_t)(1u << dir);
			/* nDPI wants to see the connection from its SYN. The context is
			 * taken this early only while the pool is at most half used, so
			 * a SYN flood cannot starve the handshakes that carry payload. */
			if (f->sess == KX_NONE && e->dpi_mem && sess_room(e) > e->o.max_sessions / 2 &&
			    sess_new(e, f, p))
				f->state = KX_FLOW_ACTIVE;
		}
		dpi_feed(e, f, p);
		if (p->payload_len && !p->payload_truncated)
			handle_payload(e, f, p, dir);
		if (f->state == KX_FLOW_ACTIVE && f->sess == KX_NONE)
			f->state = KX_FLOW_BYPASS;
	}

	if (p->tcp_flags & KX_TCP_RST) {
		flow_end(e, f, KX_R_RST);
		return;
	}
	if (p->tcp_flags & KX_TCP_FIN) {
		f->fin_mask |= (uint8_t)(1u << dir);
		if (f->fin_mask == 3)
			flow_end(e, f, KX_R_FIN);
	}
}

void kx_engine_tick(struct kx_engine *e, uint64_t now_us)
{
	if (now_us > e->now_us)
		e->now_us = now_us;
	expire_idle(e, NULL, 4096);
	if (e->df)
		kx_defrag_expire(e->df, e->now_us, e->c);
}

void kx_engine_finish(struct kx_engine *e, enum kx_reason reason)
{
	struct kx_flow *f;
	while ((f = kx_flow_oldest(e->ft)) != NULL)
		flow_end(e, f, reason);
	if (e->df)
		kx_defrag_flush(e->df, e->c);
}
