/* SPDX-License-Identifier: BSD-2-Clause */
/* cli_common.h: what `read` and `live` share: engine options, the outputs
 * (database, JSON, writer thread) and the end-of-run summary. */
#ifndef KEXWATCH_CLI_COMMON_H
#define KEXWATCH_CLI_COMMON_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kexwatch/central.h"
#include "kexwatch/counters.h"
#include "kexwatch/engine.h"
#include "kexwatch/metrics.h"
#include "kexwatch/regress.h"
#include "kexwatch/sink.h"

enum {
	KX_OPT_DB = 1000, KX_OPT_NO_DB, KX_OPT_JSON, KX_OPT_FILTER, KX_OPT_SENSOR, KX_OPT_GROUPS,
	KX_OPT_MAX_FLOWS, KX_OPT_MAX_HS, KX_OPT_MAX_STREAM, KX_OPT_MAX_MSG, KX_OPT_MEMCAP,
	KX_OPT_IDLE, KX_OPT_NO_NDPI, KX_OPT_NDPI_PACKETS, KX_OPT_PG, KX_OPT_PG_DRAIN,
	KX_OPT_DEFRAG_MEMCAP, KX_OPT_DEFRAG_DATAGRAMS, KX_OPT_DEFRAG_TIMEOUT,
	KX_OPT_PLAINTEXT, KX_OPT_JSON_ALL, KX_OPT_CID_SEED,
	KX_OPT_REGRESS_MAX, KX_OPT_REGRESS_MEMORY, KX_OPT_ROLLUP_EVERY,
};

/* getopt_long entries of the options both capture commands take. */
#define KX_COMMON_LONGOPTS                                                        \
	{ "db", required_argument, NULL, KX_OPT_DB },                             \
	{ "no-db", no_argument, NULL, KX_OPT_NO_DB },                             \
	{ "json", required_argument, NULL, KX_OPT_JSON },                         \
	{ "filter", required_argument, NULL, KX_OPT_FILTER },                     \
	{ "sensor", required_argument, NULL, KX_OPT_SENSOR },                     \
	{ "groups", required_argument, NULL, KX_OPT_GROUPS },                     \
	{ "max-flows", required_argument, NULL, KX_OPT_MAX_FLOWS },               \
	{ "max-handshakes", required_argument, NULL, KX_OPT_MAX_HS },             \
	{ "max-stream-bytes", required_argument, NULL, KX_OPT_MAX_STREAM },       \
	{ "max-message-bytes", required_argument, NULL, KX_OPT_MAX_MSG },         \
	{ "memcap", required_argument, NULL, KX_OPT_MEMCAP },                     \
	{ "idle-timeout", required_argument, NULL, KX_OPT_IDLE },                 \
	{ "defrag-memcap", required_argument, NULL, KX_OPT_DEFRAG_MEMCAP },       \
	{ "defrag-max-datagrams", required_argument, NULL, KX_OPT_DEFRAG_DATAGRAMS }, \
	{ "defrag-timeout", required_argument, NULL, KX_OPT_DEFRAG_TIMEOUT },     \
	{ "no-ndpi", no_argument, NULL, KX_OPT_NO_NDPI },                         \
	{ "ndpi-packets", no_argument, NULL, KX_OPT_NDPI_PACKETS },               \
	{ "pg", required_argument, NULL, KX_OPT_PG },                             \
	{ "pg-drain", required_argument, NULL, KX_OPT_PG_DRAIN },                 \
	{ "plaintext", required_argument, NULL, KX_OPT_PLAINTEXT },               \
	{ "json-all", no_argument, NULL, KX_OPT_JSON_ALL },                       \
	{ "community-id-seed", required_argument, NULL, KX_OPT_CID_SEED },       \
	{ "regress-max", required_argument, NULL, KX_OPT_REGRESS_MAX },           \
	{ "regress-memory", required_argument, NULL, KX_OPT_REGRESS_MEMORY },     \
	{ "rollup-every", required_argument, NULL, KX_OPT_ROLLUP_EVERY }

struct kx_common_opts {
	const char *db;
	const char *json;
	const char *filter;
	const char *sensor;
	const char *groups;
	const char *pg;       /* central store URL: pg_url (argv is redacted) */
	char pg_url[2048];
	unsigned pg_drain_s;  /* at exit, keep sending this long */
	bool no_db;
	bool json_all;        /* events for rows the database already had too */
	unsigned cid_seed;    /* Community ID seed */
	uint32_t regress_max;   /* regression memory entries, 0: off */
	uint32_t regress_days;
	uint32_t rollup_every;  /* rows between folds into the rollups, 0: default */
	struct kx_engine_opts eng;
	char host[256];
};

void kx_common_defaults(struct kx_common_opts *o);

/* Applies option `ch`: 1 when it was one of KX_COMMON_LONGOPTS, 0 when it is
 * not, -1 after printing why its value is bad. */
int kx_common_option(struct kx_common_opts *o, int ch, const char *arg);

/* Prints the help lines of KX_COMMON_LONGOPTS, with their defaults. */
void kx_common_help(FILE *out);

/* Checks combinations and loads --groups; returns -1 after printing why. */
int kx_common_finish(struct kx_common_opts *o, const char *cmd);

/* The run's outputs: the database and/or JSON file behind a writer thread. */
struct kx_outputs {
	struct kx_central *central;
	unsigned pg_drain_s;
	struct kx_store *store;
	struct kx_json *json;
	struct kx_sink *sink;
	const char *sensor;   /* for the JSON run events */
	uint64_t start_us;
	long long run_id;
	struct kx_regress *regress;  /* or NULL */
	struct kx_metrics *metrics;  /* set by the caller (live), or NULL */
	const char *cmd;             /* "live", "read": for log lines */
	bool discard_empty;          /* read: no packet was read, so no runs row */
	/* Regression log lines still allowed (read -q: 0); the rest are counted. */
	uint32_t regress_log_budget;
	uint64_t regress_found, regress_unlogged;
};

/* Opens the outputs and starts the run row, naming the sources. */
int kx_outputs_open(struct kx_outputs *out, const struct kx_common_opts *o, int argc,
		    char **argv, const char *const *sources, uint32_t n_sources, unsigned flush_ms,
		    char *err, size_t errlen);

/* Stops the writer, writes the run's counters, closes everything. Returns 0,
 * or -1 with the first failure in err. */
int kx_outputs_close(struct kx_outputs *out, struct kx_counters *c, char *err, size_t errlen);

/* The engine's emit callback: hands rows to out->sink (ctx). */
void kx_outputs_emit(void *ctx, const struct kx_hs *hs);

/* The flow ledger: what became of every flow, adding up to the flows seen. */
uint64_t kx_ledger_sum(const struct kx_counters *c);
void kx_print_ledger(FILE *f, const struct kx_counters *c);
void kx_print_summary(FILE *f, const char *verb, const struct kx_counters *c, double secs);

/* Central store counters into c (sent, present, errors); returns the backlog
 * (-1 without --pg or before the shipper's first look). */
int64_t kx_outputs_central(struct kx_outputs *out, struct kx_counters *c);

#endif
