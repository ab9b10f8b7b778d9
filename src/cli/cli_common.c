/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_common.c: options, outputs and the summary shared by `read` and `live`. */
#include "cli_common.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_util.h"
#include "kexwatch/capture.h"
#include "kexwatch/defrag.h"
#include "kexwatch/emit.h"
#include "kexwatch/metrics.h"
#include "kexwatch/regress.h"
#include "kexwatch/groups.h"
#include "kexwatch/prog.h"
#include "kexwatch/store.h"

void kx_common_defaults(struct kx_common_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->db = "kexwatch.db";
	o->pg_drain_s = 30;
	o->regress_max = KX_REGRESS_DEFAULT_MAX;
	o->regress_days = KX_REGRESS_DEFAULT_DAYS;
	kx_engine_opts_default(&o->eng);
}

int kx_common_option(struct kx_common_opts *o, int ch, const char *arg)
{
	uint64_t v;
	switch (ch) {
	case KX_OPT_DB: o->db = arg; return 1;
	case KX_OPT_NO_DB: o->no_db = true; return 1;
	case KX_OPT_JSON: o->json = arg; return 1;
	case KX_OPT_JSON_ALL: o->json_all = true; return 1;
	case KX_OPT_CID_SEED:
		if (kx_parse_uint("--community-id-seed", arg, 0, 65535, &v) < 0)
			return -1;
		o->cid_seed = (unsigned)v;
		return 1;
	case KX_OPT_FILTER: o->filter = arg; return 1;
	case KX_OPT_SENSOR: o->sensor = arg; return 1;
	case KX_OPT_GROUPS: o->groups = arg; return 1;
	case KX_OPT_NO_NDPI: o->eng.no_ndpi = true; return 1;
	case KX_OPT_NDPI_PACKETS: o->eng.ndpi_packets = true; return 1;
	case KX_OPT_PG: {
		if (!kx_pg_is_url(arg)) {
			fprintf(stderr, "%s: --pg wants a PostgreSQL URL (postgresql://...) or"
					" connection string (host=... dbname=...)\n", kx_prog);
			return -1;
		}
		if (strlen(arg) >= sizeof(o->pg_url)) {
			fprintf(stderr, "%s: --pg: connection string too long\n", kx_prog);
			return -1;
		}
		memcpy(o->pg_url, arg, strlen(arg) + 1);
		o->pg = o->pg_url;
		/* A password in the URL must not show in ps or in the run record:
		 * the argv string becomes the redacted form, in place. */
		char red[256];
		kx_pg_redact(arg, red, sizeof(red));
		size_t n = strlen(arg);
		memset((char *)arg, 0, n);
		memcpy((char *)arg, red, strlen(red) < n ? strlen(red) : n);
		return 1;
	}
	case KX_OPT_PG_DRAIN:
		if (kx_parse_uint("--pg-drain", arg, 0, 86400, &v) < 0)
			return -1;
		o->pg_drain_s = (unsigned)v;
		return 1;
	case KX_OPT_MAX_FLOWS:
		if (kx_parse_uint("--max-flows", arg, 1, 1u << 28, &v) < 0)
			return -1;
		o->eng.max_flows = (uint32_t)v;
		return 1;
	case KX_OPT_MAX_HS:
		if (kx_parse_uint("--max-handshakes", arg, 1, 1u << 24, &v) < 0)
			return -1;
		o->eng.max_sessions = (uint32_t)v;
		return 1;
	case KX_OPT_MAX_STREAM:
		if (kx_parse_uint("--max-stream-bytes", arg, 512, 16u << 20, &v) < 0)
			return -1;
		o->eng.max_stream_bytes = (uint32_t)v;
		return 1;
	case KX_OPT_MAX_MSG:
		if (kx_parse_uint("--max-message-bytes", arg, 512, 16u << 20, &v) < 0)
			return -1;
		o->eng.max_msg_bytes = (uint32_t)v;
		return 1;
	case KX_OPT_MEMCAP:
		if (kx_parse_uint("--memcap", arg, 1, 1u << 20, &v) < 0)
			return -1;
		o->eng.memcap = (size_t)v << 20;
		return 1;
	case KX_OPT_REGRESS_MAX:
		if (kx_parse_uint("--regress-max", arg, 0, 1u << 26, &v) < 0)
			return -1;
		o->regress_max = (uint32_t)v;
		return 1;
	case KX_OPT_REGRESS_MEMORY:
		if (kx_parse_uint("--regress-memory", arg, 1, 3650, &v) < 0)
			return -1;
		o->regress_days = (uint32_t)v;
		return 1;
	case KX_OPT_ROLLUP_EVERY:
		if (kx_parse_uint("--rollup-every", arg, 1, 1u << 30, &v) < 0)
			return -1;
		o->rollup_every = (uint32_t)v;
		return 1;
	case KX_OPT_PLAINTEXT:
		if (strcmp(arg, "all") == 0)
			o->eng.plaintext = KX_PLAINTEXT_ALL;
		else if (strcmp(arg, "tcp") == 0)
			o->eng.plaintext = KX_PLAINTEXT_TCP;
		else if (strcmp(arg, "none") == 0)
			o->eng.plaintext = KX_PLAINTEXT_NONE;
		else {
			fprintf(stderr, "%s: --plaintext wants all, tcp or none, not '%s'\n", kx_prog, arg);
			return -1;
		}
		return 1;
	case KX_OPT_IDLE:
		if (kx_parse_uint("--idle-timeout", arg, 1, 86400, &v) < 0)
			return -1;
		o->eng.idle_timeout_s = (uint32_t)v;
		return 1;
	case KX_OPT_DEFRAG_MEMCAP:
		if (kx_parse_uint("--defrag-memcap", arg, 0, 1u << 16, &v) < 0)
			return -1;
		o->eng.defrag_memcap = (size_t)v << 20;
		return 1;
	case KX_OPT_DEFRAG_DATAGRAMS:
		if (kx_parse_uint("--defrag-max-datagrams", arg, 1, 1u << 24, &v) < 0)
			return -1;
		o->eng.defrag_max_datagrams = (uint32_t)v;
		return 1;
	case KX_OPT_DEFRAG_TIMEOUT:
		if (kx_parse_uint("--defrag-timeout", arg, 1, 3600, &v) < 0)
			return -1;
		o->eng.defrag_timeout_s = (uint32_t)v;
		return 1;
	default:
		return 0;
	}
}

void kx_common_help(FILE *out)
{
	struct kx_engine_opts d;
	kx_engine_opts_default(&d);
	fprintf(out,
		"  --db FILE              SQLite inventory (default: kexwatch.db)\n"
		"  --no-db                do not write a database (with --json)\n"
		"  --json FILE|-          also write one JSON event per handshake ('-': stdout)\n"
		"  --json-all             JSON events also for rows the database already had\n"
		"                         (a capture read again); default: only new rows\n"
		"  --community-id-seed N  seed of the events' Community ID (default: 0)\n"
		"  --filter BPF           only packets matching this pcap filter expression\n"
		"  --sensor NAME          name of this observation point (default: host name)\n"
		"  --groups FILE          extra/overriding group code points: 'CODE NAME FAMILY'\n"
		"  --max-flows N          flow table slots (default: %u, %zu bytes each)\n"
		"  --max-handshakes N     handshakes followed at once (default: %u, %zu bytes each)\n"
		"  --max-stream-bytes N   bytes examined per direction (default: %u)\n"
		"  --max-message-bytes N  largest handshake message assembled (default: %u)\n"
		"  --memcap MB            reassembly buffer memory cap (default: %zu)\n"
		"  --idle-timeout S       seconds of silence before a flow ends (default: %u)\n"
		"  --defrag-memcap MB     IP fragment reassembly memory, 0: none (default: %zu)\n"
		"  --defrag-max-datagrams N  datagrams reassembled at once (default: %u, %zu bytes each)\n"
		"  --defrag-timeout S     seconds a fragmented datagram may take (default: %u)\n"
		"  --plaintext all|tcp|none  record sessions without any handshake (plaintext\n"
		"                         legs): TCP and the listed UDP services (default), TCP\n"
		"                         only, or none; encrypted sessions whose handshake was\n"
		"                         not seen are always recorded\n"
		"  --regress-max N        endpoints and clients remembered as hybrid/offering PQ,\n"
		"                         to notice regressions; 0: off (default: %u, %u bytes each)\n"
		"  --regress-memory DAYS  how long they are remembered (default: %u)\n"
		"  --rollup-every N       fold new rows into the reports' rollups once N wait\n"
		"                         (default: 50000)\n"
		"  --no-ndpi              do not label flows with nDPI\n"
		"  --ndpi-packets         label by nDPI's dissection of each flow's first packets\n"
		"                         (default: nDPI's host and address match; much cheaper)\n"
		"  --pg URL               also send every row to a central PostgreSQL inventory\n"
		"                         (postgresql://user@host/db; password from PGPASSWORD or\n"
		"                         ~/.pgpass); rows wait in the local database while it is down\n"
		"  --pg-drain S           at exit, keep sending waiting rows this long (default: 30)\n",
		d.max_flows, kx_engine_flow_bytes(), d.max_sessions, kx_engine_session_bytes(),
		d.max_stream_bytes, d.max_msg_bytes, d.memcap >> 20, d.idle_timeout_s,
		d.defrag_memcap >> 20, d.defrag_max_datagrams, kx_defrag_datagram_bytes(),
		d.defrag_timeout_s, KX_REGRESS_DEFAULT_MAX, KX_REGRESS_ENTRY_BYTES,
		KX_REGRESS_DEFAULT_DAYS);
}

int kx_common_finish(struct kx_common_opts *o, const char *cmd)
{
	if (o->pg && o->no_db) {
		fprintf(stderr, "kexwatch %s: --pg needs the local database: it is the outbox that"
				" keeps rows while the central store is away\n", cmd);
		return -1;
	}
	if (o->no_db && !o->json) {
		fprintf(stderr, "kexwatch %s: --no-db needs --json, or nothing would be kept\n", cmd);
		return -1;
	}
	if (!o->sensor) {
		if (gethostname(o->host, sizeof(o->host)) != 0)
			snprintf(o->host, sizeof(o->host), "kexwatch");
		o->host[sizeof(o->host) - 1] = '\0';
		o->sensor = o->host;
	}
	char err[512];
	if (o->groups && kx_groups_load(o->groups, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch %s: --groups: %s\n", cmd, err);
		return -1;
	}
	/* A usage error: refused before anything is opened or recorded. */
	if (o->filter && kx_filter_check(o->filter, err, sizeof(err)) < 0) {
		fprintf(stderr, "kexwatch %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

int kx_outputs_open(struct kx_outputs *out, const struct kx_common_opts *o, int argc,
		    char **argv, const char *const *sources, uint32_t n_sources, unsigned flush_ms,
		    char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->sensor = o->sensor;
	out->start_us = kx_now_us();
	if (o->regress_max) {
		out->regress = kx_regress_new(o->regress_max, o->regress_days);
		if (!out->regress) {
			snprintf(err, errlen, "--regress-max: out of memory");
			return -1;
		}
		/* Before the store opens the file: seeded from what it holds. */
		if (!o->no_db && kx_regress_load(out->regress, o->db, err, errlen) < 0) {
			kx_regress_free(out->regress);
			out->regress = NULL;
			return -1;
		}
	}
	/* nDPI's start-up (~15 ms) runs while the database is opened. */
	struct kx_dpi_async *labels =
		!o->eng.no_ndpi && !o->eng.ndpi_packets ? kx_dpi_new_async() : NULL;
	if (!o->no_db) {
		struct kx_store_opts so = { .rollup_every = o->rollup_every };
		if (kx_store_open(o->db, &so, &out->store, err, errlen) < 0) {
			kx_dpi_free(kx_dpi_join(labels));
			return -1;
		}
		char cmd[1024];
		kx_join_args(cmd, sizeof(cmd), argc, argv);
		bool ok = kx_store_begin_run(out->store, o->sensor, cmd, kx_now_us()) == 0;
		for (uint32_t i = 0; ok && i < n_sources; i++)
			ok = kx_store_set_source(out->store, i, sources[i]) == 0;
		if (!ok) {
			snprintf(err, errlen, "%s", kx_store_error(out->store));
			goto fail;
		}
	}
	if (o->json) {
		char e[512];
		out->json = kx_json_open(o->json, e, sizeof(e));
		if (!out->json) {
			snprintf(err, errlen, "--json: %s", e);
			goto fail;
		}
		kx_json_set_seed(out->json, (uint16_t)o->cid_seed);
		out->run_id = out->store ? kx_store_run_id(out->store) : 0;
		if (kx_json_write_run(out->json, "start", o->sensor, out->start_us, out->start_us,
				      out->run_id) < 0) {
			snprintf(err, errlen, "--json: write failed");
			goto fail;
		}
	}
	struct kx_sink_opts ko = {
		.store = out->store, .json = out->json, .sensor = o->sensor, .json_all = o->json_all,
		.sources = sources, .n_sources = n_sources, .flush_ms = flush_ms,
		.ndpi_labels = labels,
	};
	labels = NULL; /* the sink's now */
	out->sink = kx_sink_new(&ko, err, errlen);
	if (!out->sink)
		goto fail;
	if (o->pg) {
		struct kx_central_opts co = { .url = o->pg, .db_path = o->db,
					      .run_id = kx_store_run_id(out->store) };
		out->pg_drain_s = o->pg_drain_s;
		if (kx_central_start(&co, &out->central, err, errlen) < 0) {
			struct kx_counters ignored = { 0 };
			char e[16];
			kx_sink_close(out->sink, &ignored, e, sizeof(e));
			goto fail;
		}
	}
	return 0;
fail:
	kx_dpi_free(kx_dpi_join(labels));
	kx_regress_free(out->regress);
	kx_json_close(out->json);
	kx_store_close(out->store);
	memset(out, 0, sizeof(*out));
	return -1;
}

int kx_outputs_close(struct kx_outputs *out, struct kx_counters *c, char *err, size_t errlen)
{
	bool failed = kx_sink_close(out->sink, c, err, errlen) < 0;
	if (out->store && out->discard_empty && c->packets == 0) {
		if (kx_store_discard_run(out->store, c) < 0 && !failed) {
			snprintf(err, errlen, "%s", kx_store_error(out->store));
			failed = true;
		}
		kx_central_forget_run(out->central);
		kx_store_close(out->store);
	} else if (out->store) {
		if (kx_store_end_run(out->store, c, kx_now_us()) < 0 && !failed) {
			snprintf(err, errlen, "%s", kx_store_error(out->store));
			failed = true;
		}
		kx_store_close(out->store);
	}
	if (out->json && !failed &&
	    kx_json_write_run(out->json, "end", out->sensor, out->start_us, kx_now_us(),
			      out->run_id) < 0) {
		snprintf(err, errlen, "JSON output: write failed");
		failed = true;
	}
	kx_json_close(out->json);
	kx_regress_free(out->regress);
	if (out->central) {
		/* After the last local commit: the drain sends the final rows. */
		struct kx_central_stats s;
		kx_central_stop(out->central, out->pg_drain_s * 1000u, &s);
		c->central_rows_sent = s.sent;
		c->central_rows_present = s.present;
		c->central_send_errors = s.errors;
		c->central_rows_rejected = s.rejected;
		fprintf(stderr, "central store: %" PRIu64 " rows sent, %" PRIu64 " already there, %" PRIu64
			" failed attempts, %" PRIu64 " refused; %" PRId64
			" rows wait in the local outbox%s; %" PRIu64 " sessions rows sent\n",
			s.sent, s.present, s.errors, s.rejected, s.backlog < 0 ? 0 : s.backlog,
			s.backlog > 0 ? " (sent by the next run with --pg, or kexwatch push)" : "",
			s.sessions_sent);
	}
	memset(out, 0, sizeof(*out));
	return failed ? -1 : 0;
}

int64_t kx_outputs_central(struct kx_outputs *out, struct kx_counters *c)
{
	if (!out->central)
		return -1;
	struct kx_central_stats s;
	kx_central_stats(out->central, &s);
	c->central_rows_sent = s.sent;
	c->central_rows_present = s.present;
	c->central_send_errors = s.errors;
	c->central_rows_rejected = s.rejected;
	return s.backlog;
}

void kx_outputs_emit(void *ctx, const struct kx_hs *hs)
{
	struct kx_outputs *out = ctx;
	unsigned log = 0, found = out->regress ? kx_regress_observe(out->regress, hs, &log) : 0;
	if (!found) {
		kx_sink_put(out->sink, hs); /* a failure is seen through kx_sink_failed */
		return;
	}
	/* Rare: a marked copy of the row. */
	struct kx_hs marked = *hs;
	marked.regression = true;
	for (unsigned k = 0; k < KX_REGRESS_KINDS; k++) {
		if (!(found & (1u << k)))
			continue;
		if (out->metrics)
			kx_metrics_regression(out->metrics, (enum kx_regress_kind)k);
		out->regress_found++;
		if ((log & (1u << k)) && out->regress_log_budget == 0)
			out->regress_unlogged++;
		else if (log & (1u << k)) {
			out->regress_log_budget--;
			char line[512];
			kx_regress_describe(hs, (enum kx_regress_kind)k, line, sizeof(line));
			fprintf(stderr, "kexwatch %s: %s\n", out->cmd ? out->cmd : "", line);
		}
	}
	kx_sink_put(out->sink, &marked);
}

uint64_t kx_ledger_sum(const struct kx_counters *c)
{
	return c->flow_hs_row + c->flow_capacity + c->flow_plaintext + c->flow_unseen +
	       c->flow_one_sided + c->flow_no_payload + c->flow_plain_off + c->flow_unrecognised;
}

void kx_print_ledger(FILE *f, const struct kx_counters *c)
{
	uint64_t ended = kx_ledger_sum(c);
	fprintf(f,
		"flows: %" PRIu64 " seen = %" PRIu64 " handshake rows + %" PRIu64 " capacity rows + %" PRIu64
		" plaintext + %" PRIu64 " handshake unseen + %" PRIu64 " one-sided + %" PRIu64
		" no payload + %" PRIu64 " not recorded (--plaintext) + %" PRIu64 " unrecognised + %" PRIu64
		" still open + %" PRIu64 " refused (table full)\n",
		c->flows_created + c->flows_refused, c->flow_hs_row, c->flow_capacity,
		c->flow_plaintext, c->flow_unseen, c->flow_one_sided, c->flow_no_payload,
		c->flow_plain_off, c->flow_unrecognised,
		c->flows_created > ended ? c->flows_created - ended : 0, c->flows_refused);
	fprintf(f, "packets outside flows: %" PRIu64 " not TCP/UDP (ICMP, ARP, other), %" PRIu64
		   " IP fragments not reassembled\n", c->pkt_other, c->skip_ip_fragment);
}

void kx_print_summary(FILE *f, const char *verb, const struct kx_counters *c, double secs)
{
	fprintf(f, "%s %" PRIu64 " packets, %" PRIu64 " bytes in %.2f s; %" PRIu64 " flows\n", verb,
		c->packets, c->bytes, secs, c->flows_created);
	fprintf(f,
		"handshakes: %" PRIu64 " (hybrid %" PRIu64 ", pq %" PRIu64 ", hybrid-draft %" PRIu64
		", classical %" PRIu64 ", resumed %" PRIu64 ", unknown %" PRIu64
		", incomplete %" PRIu64 ")\n",
		c->hs_total, c->hs_hybrid, c->hs_pq, c->hs_hybrid_draft, c->hs_classical,
		c->hs_resumed, c->hs_unknown, c->hs_incomplete);
	uint64_t truncated = c->skip_link_short + c->skip_ip_short + c->skip_tcp_short +
			     c->payload_truncated + c->skip_tunnel_short;
	uint64_t malformed = c->skip_link_unsupported + c->skip_vlan_depth +
			     c->skip_ip_malformed + c->skip_ip6_ext + c->skip_tcp_malformed +
			     c->skip_tunnel_malformed + c->skip_tunnel_depth;
	if (c->flow_plaintext || c->flow_unseen)
		fprintf(f, "sessions without a handshake: %" PRIu64 " plaintext, %" PRIu64
			   " encrypted with the handshake not seen\n",
			c->flow_plaintext, c->flow_unseen);
	kx_print_ledger(f, c);
	fprintf(f,
		"skipped: %" PRIu64 " truncated, %" PRIu64 " malformed, %" PRIu64
		" fragments; flows evicted: %" PRIu64 " (table full), %" PRIu64
		" expired idle; database: %" PRIu64 " new rows, %" PRIu64 " already present\n",
		truncated, malformed, c->skip_ip_fragment, c->flows_evicted_full,
		c->flows_expired_idle, c->db_rows_written, c->db_rows_duplicate);
	if (c->pkt_tunneled)
		fprintf(f, "tunnels: %" PRIu64 " packets decapsulated\n", c->pkt_tunneled);
	if (c->defrag_fragments)
		fprintf(f,
			"IP fragments: %" PRIu64 " taken, %" PRIu64 " datagrams reassembled, %" PRIu64
			" never completed\n",
			c->defrag_fragments, c->defrag_reassembled, c->defrag_incomplete);
	if (c->capture_received || c->capture_dropped || c->capture_if_dropped)
		fprintf(f,
			"capture: %" PRIu64 " packets received by the filter, %" PRIu64
			" dropped by the kernel, %" PRIu64 " by the interface\n",
			c->capture_received, c->capture_dropped, c->capture_if_dropped);
	for (unsigned i = 0; i < kx_counter_count; i++) {
		const char *n = kx_counter_descs[i].name;
		uint64_t v = kx_counter_get(c, i);
		/* The rest only when they say something went wrong. */
		if (v && (strstr(n, "corrupt") || strstr(n, "capture_truncated") ||
			  strstr(n, "refused") || strstr(n, "memcap") || strstr(n, "ooo_dropped") ||
			  strstr(n, "conflict") || strstr(n, "malformed") || strstr(n, "too_big") ||
			  strstr(n, "db_errors")))
			fprintf(f, "  %s: %" PRIu64 " (%s)\n", n, v, kx_counter_descs[i].desc);
	}
}
