/* SPDX-License-Identifier: BSD-2-Clause */
/* test_store.c: the SQLite inventory: exact rows, de-duplication, batching,
 * the run row, failed batches and refusal of foreign or newer files. */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kexwatch/capture.h"
#include "kexwatch/counters.h"
#include "kexwatch/report.h"
#include "kexwatch/emit.h"
#include "kexwatch/store.h"
#include "kx_config.h"
#include "store_test.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define SCHEMA_STR STR(KX_STORE_SCHEMA_VERSION)

static const char *dir;
static char path_buf[512];

static const char *db_path(const char *name)
{
	snprintf(path_buf, sizeof(path_buf), "%s/%s", dir, name);
	return path_buf;
}

static struct kx_store *open_store(const char *path, unsigned batch, unsigned busy_ms)
{
	struct kx_store_opts o = { .batch_rows = batch, .flush_ms = 1000, .busy_ms = busy_ms };
	struct kx_store *st;
	char err[512];

	if (kx_store_open(path, &o, &st, err, sizeof(err)) < 0) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	return st;
}

static const char want_hybrid[] =
	"1|1|s1|a.pcap|2025-11-22T10:00:00.123456Z|1763805600123456|"
	"2025-11-22T10:00:00.135801Z|1763805600135801|tcp|tls|192.0.2.10|51000|"
	"198.51.100.1|443|4|0|example.com|[\"h2\",\"http/1.1\"]|771|[10794,772,771]|"
	"TLS1.3|772|4865|[2570,4588,29,23,24]|NULL|[[2570,4588,29]]|1|0|NULL|"
	"4588|X25519MLKEM768|hybrid|NULL|0|0|hybrid|NULL|1802|2|NULL|NULL|12345|"
	"[1027,2052,1025]|0|0|TLS.Google|4|6|NULL|NULL|NULL|NULL|NULL|NULL|4023484434388663910|NULL|1"
	/* ja4 ... ske_sigalg (schema 7) */
	"|NULL|NULL|NULL|NULL|11ec,001d,0017,0018_11ec,001d|NULL|NULL|NULL|0|NULL|NULL|NULL|unseen|NULL|NULL|NULL|NULL|NULL|0|NULL";

static const char want_hrr[] =
	"2|1|s1|eth0|2025-11-22T10:00:01.123456Z|1763805601123456|"
	"2025-11-22T10:00:01.153456Z|1763805601153456|tcp|tls|2001:db8::10|40000|"
	"2001:db8::1|443|6|100|hrr.example|[]|771|[772]|TLS1.3|772|4866|[29,4588]|"
	"[29,4588]|[[29],[4588]]|1|1|4588|4588|X25519MLKEM768|hybrid|NULL|0|0|"
	"hybrid|NULL|300|1|1500|2|30000|[2052]|0|0|NULL|1|9|NULL|NULL|NULL|NULL|NULL|NULL|"
	"-6790497101428714896|NULL|1"
	/* ja4 ... ske_sigalg (schema 7) */
	"|NULL|NULL|NULL|NULL|001d,11ec_001d|001d,11ec_11ec|NULL|NULL|0|NULL|NULL|NULL|unseen|NULL|NULL|NULL|NULL|NULL|0|eth0";

static const char want_tls12[] =
	"3|1|s1|a.pcap|2025-11-22T10:00:02.123456Z|1763805602123456|"
	"2025-11-22T10:00:02.123956Z|1763805602123956|tcp|tls|192.0.2.11|50001|"
	"203.0.113.5|8443|4|0|NULL|[]|771|[]|TLS1.2|771|49199|[29,23]|NULL|[[]]|"
	"0|0|NULL|23|secp256r1|classical|ECDHE|0|0|classical|tls12|220|1|NULL|NULL|"
	"500|[1025]|0|0|NULL|12|13|NULL|NULL|NULL|NULL|NULL|NULL|-4920787635103940384|NULL|1"
	/* ja4 ... ske_sigalg (schema 7) */
	"|NULL|NULL|NULL|NULL|001d,0017_|NULL|NULL|NULL|0|NULL|NULL|NULL|unseen|NULL|NULL|NULL|NULL|NULL|0|NULL";

static const char want_incomplete[] =
	"4|1|s1|a.pcap|2025-11-22T10:00:03.123456Z|1763805603123456|"
	"2025-11-22T10:00:03.123456Z|1763805603123456|tcp|tls|192.0.2.10|51002|"
	"198.51.100.1|443|4|0|example.com|[\"h2\",\"http/1.1\"]|771|[10794,772,771]|"
	"NULL|NULL|NULL|[2570,4588,29,23,24]|NULL|[[2570,4588,29]]|1|0|NULL|"
	"NULL|NULL|NULL|NULL|0|0|incomplete|rst|1802|2|NULL|NULL|NULL|"
	"[1027,2052,1025]|0|0|NULL|4|NULL|NULL|NULL|NULL|NULL|NULL|NULL|1324022731343217201|NULL|1"
	/* ja4 ... ske_sigalg (schema 7) */
	"|NULL|NULL|NULL|NULL|11ec,001d,0017,0018_11ec,001d|NULL|NULL|NULL|0|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|0|NULL";

static void test_rows(void)
{
	const char *path = db_path("rows.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 500, 0);
	struct kx_hs h[4] = { hs_hybrid(), hs_hrr(), hs_tls12(), hs_incomplete() };
	sqlite3 *db = open_db(path);
	char want_counters[64];
	int rc = 0;

	check_str(sql_row(db, "PRAGMA user_version"), SCHEMA_STR, "schema: user_version is the latest");
	check_str(sql_row(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
			  " AND tbl_name <> 'sessions'"), "0",
		  "schema: no handshake index beyond the UNIQUE key (each one costs every insert)");
	check_str(sql_row(db, "PRAGMA application_id"), "1801812087", "schema: application_id kexw");
	check_str(sql_row(db, "PRAGMA journal_mode"), "wal", "schema: WAL journal");

	rc |= kx_store_begin_run(st, "s1", "kexwatch read a.pcap", T0 - 5000000);
	rc |= kx_store_set_source(st, 0, "a.pcap");
	rc |= kx_store_set_source(st, 1, "eth0");
	h[1].iface = kx_iface_intern("eth0", 4); /* the interface column, last */
	for (int i = 0; i < 4; i++)
		rc |= kx_store_add(st, &h[i], &c);
	CHECK(rc == 0, "run, sources and four rows queued");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes"), "0",
		  "queued rows are invisible before the commit");
	CHECK_EQ(c.db_rows_written, 0, "nothing counted as written before the commit");
	CHECK(kx_store_flush(st, &c) == 0, "flush");
	CHECK_EQ(c.db_rows_written, 4, "db_rows_written 4 after the flush");

	check_str(sql_row(db, "SELECT * FROM handshakes WHERE id = 1"), want_hybrid,
		  "row: TLS 1.3 hybrid, GREASE kept, source a.pcap");
	check_str(sql_row(db, "SELECT * FROM handshakes WHERE id = 2"), want_hrr,
		  "row: IPv6 HRR to X25519MLKEM768, two ClientHellos, source eth0");
	check_str(sql_row(db, "SELECT * FROM handshakes WHERE id = 3"), want_tls12,
		  "row: TLS 1.2 ECDHE, no SNI");
	check_str(sql_row(db, "SELECT * FROM handshakes WHERE id = 4"), want_incomplete,
		  "row: incomplete after RST");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes WHERE json_valid(alpn)"
			      " AND json_valid(versions_offered) AND json_valid(groups_offered)"
			      " AND json_valid(coalesce(groups_offered_2, '[]'))"
			      " AND json_valid(key_shares) AND json_valid(sigalgs)"),
		  "4", "every JSON column is valid JSON");
	check_str(sql_row(db, "SELECT * FROM sources ORDER BY source_id"), "1|0|a.pcap",
		  "sources: a.pcap");

	/* The same handshake again, in the same run. */
	CHECK(kx_store_add(st, &h[0], &c) == 0 && kx_store_flush(st, &c) == 0,
	      "duplicate accepted");
	CHECK_EQ(c.db_rows_duplicate, 1, "db_rows_duplicate 1");
	CHECK_EQ(c.db_rows_written, 4, "db_rows_written still 4");

	c.packets = 100;
	c.bytes = 64000;
	c.flows_created = 7;
	c.hs_total = 4;
	c.flows_evicted_full = 3;
	c.flows_expired_idle = 5;
	c.skip_link_short = 1;
	c.skip_link_unsupported = 2;
	c.skip_vlan_depth = 4;
	c.skip_ip_short = 8;
	c.skip_ip_malformed = 16;
	c.skip_ip_fragment = 32;
	c.skip_ip6_ext = 64;
	c.skip_tcp_short = 128;
	c.skip_tcp_malformed = 256;
	c.payload_truncated = 512;
	c.capture_truncated = 1024;
	CHECK(kx_store_end_run(st, &c, T0 + 10000000) == 0, "end run");
	snprintf(want_counters, sizeof(want_counters), "1|%u|4|1|5|32", kx_counter_count);
	check_str(sql_row(db, "SELECT id, started, started_us, finished, finished_us, sensor,"
			      " command, kexwatch_version, packets, bytes, flows, handshakes,"
			      " skipped_malformed, skipped_truncated, flows_evicted, db_errors"
			      " FROM runs WHERE id = 1"),
		  "1|2025-11-22T09:59:55.123456Z|1763805595123456|"
		  "2025-11-22T10:00:10.123456Z|1763805610123456|s1|kexwatch read a.pcap|"
		  KX_VERSION "|100|64000|7|4|342|1673|3|0",
		  "run row: times, summary counters");
	check_str(sql_row(db, "SELECT json_valid(counters),"
			      " (SELECT count(*) FROM json_each(runs.counters)),"
			      " json_extract(counters, '$.db_rows_written'),"
			      " json_extract(counters, '$.db_rows_duplicate'),"
			      " json_extract(counters, '$.flows_expired_idle'),"
			      " json_extract(counters, '$.skip_ip_fragment')"
			      " FROM runs WHERE id = 1"),
		  want_counters,
		  "run row: counters JSON has every counter");
	kx_store_close(st);

	/* A second run over the same capture adds nothing; another sensor does. */
	memset(&c, 0, sizeof(c));
	st = open_store(path, 500, 0);
	rc = kx_store_begin_run(st, "s1", "kexwatch read a.pcap", T0 + 20000000);
	for (int i = 0; i < 4; i++)
		rc |= kx_store_add(st, &h[i], &c);
	rc |= kx_store_end_run(st, &c, T0 + 30000000);
	CHECK(rc == 0, "second run over the same handshakes");
	CHECK_EQ(c.db_rows_duplicate, 4, "second run: 4 duplicates");
	CHECK_EQ(c.db_rows_written, 0, "second run: 0 written");
	rc = kx_store_begin_run(st, "s2", NULL, T0 + 40000000);
	rc |= kx_store_add(st, &h[0], &c);
	rc |= kx_store_end_run(st, &c, T0 + 50000000);
	CHECK(rc == 0, "third run, other sensor");
	CHECK_EQ(c.db_rows_written, 1, "another sensor's handshake is a new row");
	check_str(sql_row(db, "SELECT count(*), max(run_id) FROM handshakes"), "5|3",
		  "5 rows in all, the last from run 3");
	check_str(sql_row(db, "SELECT handshakes.sensor, source, command FROM handshakes JOIN runs"
			      " ON runs.id = run_id WHERE handshakes.id = 5"),
		  "s2|NULL|NULL", "unregistered source and command stay NULL");
	kx_store_close(st);
	kx_store_close(NULL);
	sqlite3_close(db);
}

static void test_batching(void)
{
	const char *path = db_path("batch.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 2, 0);
	struct kx_hs hs = hs_hybrid();
	sqlite3 *db = open_db(path);
	const char *count = "SELECT count(*) FROM handshakes";

	kx_store_begin_run(st, "s", "test", T0);
	for (int i = 0; i < 3; i++) {
		hs.client_port = (uint16_t)(1000 + i);
		kx_store_add(st, &hs, &c);
		if (i == 0)
			check_str(sql_row(db, count), "0", "batch of 2: one row waits");
	}
	check_str(sql_row(db, count), "2", "batch of 2: the second row commits both");
	CHECK_EQ(c.db_rows_written, 2, "batch of 2: db_rows_written 2");
	kx_store_tick(st, 5000, &c);
	kx_store_tick(st, 5999, &c);
	check_str(sql_row(db, count), "2", "tick before flush_ms: third row waits");
	kx_store_tick(st, 6000, &c);
	check_str(sql_row(db, count), "3", "tick at flush_ms: third row commits");
	CHECK_EQ(c.db_rows_written, 3, "db_rows_written 3");
	kx_store_tick(st, 100, &c);
	hs.client_port = 2000;
	kx_store_add(st, &hs, &c);
	kx_store_tick(st, 1099, &c);
	check_str(sql_row(db, count), "3", "clock going back restarts the interval");
	kx_store_tick(st, 1100, &c);
	check_str(sql_row(db, count), "4", "and commits flush_ms later");
	kx_store_close(st);
	sqlite3_close(db);
}

static void test_busy(void)
{
	const char *path = db_path("busy.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 500, 50);
	struct kx_hs hs = hs_hybrid();
	sqlite3 *db = open_db(path);
	int rc;

	kx_store_begin_run(st, "s", "test", T0);
	sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	rc = kx_store_add(st, &hs, &c);
	CHECK(rc == -1, "add fails while another process holds the write lock");
	CHECK(strstr(kx_store_error(st), "database is locked") &&
		      strstr(kx_store_error(st), "more than 50 ms") &&
		      strstr(kx_store_error(st), "; 1 handshake row not stored"),
	      "message: %s", kx_store_error(st));
	CHECK_EQ(c.db_errors, 1, "db_errors 1");
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	rc = kx_store_add(st, &hs, &c);
	rc |= kx_store_flush(st, &c);
	CHECK(rc == 0, "the store carries on once the lock is gone");
	CHECK_EQ(c.db_rows_written, 1, "and writes the row");
	kx_store_close(st);
	sqlite3_close(db);
}

static off_t file_size(const char *p)
{
	struct stat sb;
	return stat(p, &sb) == 0 ? sb.st_size : 0;
}

/* A file-size limit makes every write past it fail with EFBIG, which SQLite
 * reports as a full disk: the batch must vanish as a whole. */
static void test_disk_full(void)
{
	char path[512], wal[600];
	struct kx_counters c = { 0 };
	struct kx_store *st;
	struct kx_hs hs = hs_hybrid();
	struct rlimit old, lim;
	sqlite3 *db;
	int add_rc = 0, flush_rc;
	off_t big;
	char msg[512];

	snprintf(path, sizeof(path), "%s", db_path("full.db"));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	st = open_store(path, 1000, 0);
	db = open_db(path);
	kx_store_begin_run(st, "s", "test", T0);
	big = file_size(path) > file_size(wal) ? file_size(path) : file_size(wal);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)big + 8192;
	signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	for (int i = 0; i < 300 && !add_rc; i++) {
		hs.client_port = (uint16_t)(1000 + i);
		add_rc = kx_store_add(st, &hs, &c);
	}
	flush_rc = add_rc ? add_rc : kx_store_flush(st, &c);
	setrlimit(RLIMIT_FSIZE, &old);
	snprintf(msg, sizeof(msg), "%s", kx_store_error(st));

	CHECK(add_rc == 0 && flush_rc == -1, "300 rows queue, their commit fails");
	CHECK(strstr(msg, "commit failed") &&
		      strstr(msg, "300 handshake rows not stored (the batch was rolled back"),
	      "message: %s", msg);
	CHECK_EQ(c.db_errors, 1, "db_errors 1");
	CHECK_EQ(c.db_rows_written, 0, "nothing counted as written");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes"), "0", "no partial batch");
	hs.client_port = 9;
	CHECK(kx_store_add(st, &hs, &c) == 0 && kx_store_flush(st, &c) == 0,
	      "the store carries on when space is back");
	check_str(sql_row(db, "SELECT count(*), min(client_port) FROM handshakes"), "1|9",
		  "only the new row is there");
	kx_store_close(st);
	sqlite3_close(db);
}

/* A statement that fails leaves its transaction open (here a trigger
 * aborts the third insert): the rows before it in the batch must not be
 * committed with the next one. */
static void test_failed_insert(void)
{
	const char *path = db_path("abort.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 500, 0);
	struct kx_hs hs = hs_hybrid();
	sqlite3 *db = open_db(path);
	const uint16_t ports[] = { 1, 2, 666, 3 };
	int rc[4];

	sqlite3_exec(db, "CREATE TRIGGER boom BEFORE INSERT ON handshake_rows"
			 " WHEN NEW.client_port = 666 BEGIN SELECT RAISE(ABORT, 'boom'); END",
		     NULL, NULL, NULL);
	kx_store_begin_run(st, "s", "test", T0);
	for (int i = 0; i < 4; i++) {
		hs.client_port = ports[i];
		rc[i] = kx_store_add(st, &hs, &c);
		if (i == 2)
			CHECK(strstr(kx_store_error(st), "cannot store a handshake: boom; 3 handshake"
					 " rows not stored (the batch was rolled back as a whole)") != NULL,
			      "message: %s", kx_store_error(st));
	}
	CHECK(!rc[0] && !rc[1] && rc[2] == -1 && !rc[3] && kx_store_flush(st, &c) == 0,
	      "third insert fails, the fourth goes on");
	check_str(sql_rows(db, "SELECT client_port FROM handshakes", NULL, 10), "3",
		  "only the row after the failure is stored");
	/* The rolled-back batch took its hellos row along: the cached id must
	 * not outlive it. */
	check_str(sql_row(db, "SELECT h.groups_offered IS NOT NULL, r.hello_id,"
			      " (SELECT count(*) FROM hellos) FROM handshakes AS h"
			      " JOIN handshake_rows AS r USING (id)"),
		  "1|1|1", "the row after the failure has its lists (hellos row inserted again)");
	CHECK_EQ(c.db_rows_written, 1, "db_rows_written 1");
	CHECK_EQ(c.db_errors, 1, "db_errors 1");
	kx_store_close(st);
	sqlite3_close(db);
}

/* Schema v5 splits a row over handshake_rows, hellos, handshake_extras and
 * sources; the handshakes view puts it back together and its trigger
 * splits rows inserted into it (merge, central snapshot) the same way. */
static void test_view_insert(void)
{
	const char *path = db_path("view.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 500, 0);
	struct kx_hs h[3] = { hs_hybrid(), hs_hybrid(), hs_hrr() };
	sqlite3 *db = open_db(path);

	h[1].client_port = 2;
	snprintf(h[1].starttls, sizeof(h[1].starttls), "smtp");
	h[2].source_id = 7; /* never named */
	CHECK(kx_store_begin_run(st, "s", "test", T0) == 0 && kx_store_set_source(st, 0, "a.pcap") == 0,
	      "run and source");
	for (int i = 0; i < 3; i++)
		CHECK(kx_store_add(st, &h[i], &c) == 0, "row %d", i);
	CHECK(kx_store_flush(st, &c) == 0, "flush");
	check_str(sql_rows(db, "SELECT r.source_id, r.hello_id, x.starttls FROM handshake_rows AS r"
			       " LEFT JOIN handshake_extras AS x USING (id) ORDER BY r.id", NULL, 10),
		  "0|1|NULL\n0|1|smtp\nNULL|2|NULL", "rows share a hello; only the STARTTLS row has extras");
	check_str(sql_rows(db, "SELECT source, starttls FROM handshakes ORDER BY id", NULL, 10),
		  "a.pcap|NULL\na.pcap|smtp\nNULL|NULL", "the view names the source and shows the extras");

	/* The same rows, one microsecond later, from a file no run named. */
	sqlite3_exec(db, "CREATE TEMP TABLE t AS SELECT * FROM handshakes;"
			 " UPDATE t SET id = NULL, ts_first_us = ts_first_us + 1,"
			 "  ts_first = NULL, source = 'elsewhere.pcap'",
		     NULL, NULL, NULL);
	for (int round = 0; round < 2; round++)
		check_str(sqlite3_exec(db, "INSERT INTO handshakes SELECT * FROM t", NULL, NULL, NULL)
				  ? sqlite3_errmsg(db)
				  : sql_row(db, "SELECT count(*), (SELECT count(*) FROM hellos),"
						" (SELECT count(*) FROM handshake_extras) FROM handshake_rows"),
			  "6|2|4", round ? "inserted again through the view: nothing changes"
					 : "inserted through the view: 3 rows, extras keep the file name");
	/* Every column but id and ts_first (t's is NULL), both ways. */
#define VIEW_COLS                                                                      \
	" run_id, sensor, source, ts_first_us, ts_last, ts_last_us, transport, protocol,"  \
	" client_ip, client_port, server_ip, server_port, ip_version, vlan, sni, alpn,"     \
	" legacy_version, versions_offered, version, version_code, cipher_suite,"           \
	" groups_offered, groups_offered_2, key_shares, offers_pq, hrr, hrr_group,"         \
	" group_code, group_name, group_family, tls12_kx, resumed, psk, verdict, reason,"   \
	" ch_bytes, ch_segments, ch2_bytes, ch2_segments, ch_to_sh_us, sigalgs, ech,"       \
	" list_overflow, ndpi, pkt_first_ch, pkt_sh, ssh_client_banner, ssh_server_banner," \
	" kex_offered, kex_offered_server, ssh_hostkey, starttls, dedup_key"
	check_str(sql_row(db, "SELECT (SELECT count(*) FROM (SELECT" VIEW_COLS " FROM t EXCEPT SELECT"
			      VIEW_COLS " FROM handshakes WHERE id > 3)), (SELECT count(*) FROM (SELECT"
			      VIEW_COLS " FROM handshakes WHERE id > 3 EXCEPT SELECT" VIEW_COLS " FROM t))"),
		  "0|0", "the view reads back what went in");
#undef VIEW_COLS
	kx_store_close(st);
	sqlite3_close(db);
}

/* Browsers put a random GREASE value in their lists, so one client stack
 * makes hundreds of distinct sets: more than the writer's cache holds. Every
 * row must still read back with its own lists, and a set stored once. */
static void test_many_hellos(void)
{
	const char *path = db_path("grease.db");
	struct kx_counters c = { 0 };
	struct kx_store *st = open_store(path, 1000, 0);
	sqlite3 *db = open_db(path);
	enum { N = 5000 };

	CHECK(kx_store_begin_run(st, "s", "test", T0) == 0, "run");
	for (int round = 0; round < 2; round++)
		for (unsigned i = 0; i < N; i++) {
			struct kx_hs hs = hs_hybrid();
			/* Two rows per set; the second round repeats the first. */
			hs.client_port = (uint16_t)(1000 + i);
			hs.ch[0].groups[0] = (uint16_t)(40000 + i / 2);
			hs.ch[0].shares[0] = (uint16_t)(40000 + i / 2);
			if (kx_store_add(st, &hs, &c) < 0) {
				CHECK(0, "row %u: %s", i, kx_store_error(st));
				break;
			}
		}
	CHECK(kx_store_flush(st, &c) == 0, "flush");
	CHECK_EQ(c.db_rows_written, N, "rows written once");
	CHECK_EQ(c.db_rows_duplicate, N, "the second round: duplicates");
	check_str(sql_row(db, "SELECT count(*), count(DISTINCT hello_id), (SELECT count(*) FROM hellos)"
			      " FROM handshake_rows"),
		  "5000|2500|2500", "one hellos row per distinct set");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes WHERE groups_offered = '['"
			      " || (40000 + (client_port - 1000) / 2) || ',4588,29,23,24]' AND key_shares = '[['"
			      " || (40000 + (client_port - 1000) / 2) || ',4588,29]]'"),
		  "5000", "every row reads back its own lists");
	kx_store_close(st);
	sqlite3_close(db);
}

static void expect_open_error(const char *path, const char *want, const char *what)
{
	struct kx_store *st = NULL;
	char err[512] = "";
	int rc = kx_store_open(path, NULL, &st, err, sizeof(err));

	CHECK(rc == -1 && !st && strstr(err, path) && strstr(err, want), "%s: %s", what, err);
}

/* kx_store_open in a child running as nobody (uid/gid 65534); returns its
 * result and copies its error message into err. */
static int open_as_nobody(const char *path, char *err, size_t errlen)
{
	int fds[2];
	pid_t pid;
	int status = 0;
	ssize_t n;

	fflush(stdout);
	if (pipe(fds) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return 0;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (pid == 0) {
		struct kx_store *st = NULL;
		char e[512] = "";
		int rc;

		close(fds[0]);
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
			snprintf(e, sizeof(e), "cannot drop privileges: %s", strerror(errno));
			rc = 0;
		} else {
			rc = kx_store_open(path, NULL, &st, e, sizeof(e));
			if (st)
				kx_store_close(st);
		}
		if (write(fds[1], e, strlen(e) + 1) < 0)
			_exit(3);
		_exit(rc == -1 ? 1 : 0);
	}
	close(fds[1]);
	n = read(fds[0], err, errlen - 1);
	err[n > 0 ? (size_t)n : 0] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) && WEXITSTATUS(status) == 1 ? -1 : 0;
}

static void test_refusals(void)
{
	char err[512];
	sqlite3 *db;
	FILE *f;
	int rc;

	kx_store_close(open_store(db_path("newer.db"), 0, 0));
	db = open_db(db_path("newer.db"));
	sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
	sqlite3_close(db);
	expect_open_error(db_path("newer.db"),
			  "database schema version 99 is newer than this kexwatch " KX_VERSION
			  " supports (" SCHEMA_STR ")", "newer schema refused");
	rc = kx_report_hops(db_path("newer.db"), KX_OUT_TABLE, stdout, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "schema version 99 is newer"), "report refuses it: %s", err);

	db = open_db(db_path("other.db"));
	sqlite3_exec(db, "PRAGMA journal_mode = DELETE; CREATE TABLE t (x)", NULL, NULL, NULL);
	sqlite3_close(db);
	expect_open_error(db_path("other.db"), "not a kexwatch database", "foreign database refused");
	db = open_db(db_path("other.db"));
	check_str(sql_row(db, "PRAGMA journal_mode"), "delete", "and left in its journal mode");
	sqlite3_close(db);
	rc = kx_report_hops(db_path("other.db"), KX_OUT_TABLE, stdout, err, sizeof(err));
	CHECK(rc == -1 && strstr(err, "not a kexwatch database"), "report refuses it: %s", err);

	f = fopen(db_path("junk.db"), "w");
	for (int i = 0; i < 100; i++)
		fputs("this is not an SQLite file\n", f);
	fclose(f);
	expect_open_error(db_path("junk.db"), "not a database", "non-database file refused");

	expect_open_error(db_path("nodir/x.db"), "cannot open database", "missing directory");

	kx_store_close(open_store(db_path("ro.db"), 0, 0));
	chmod(db_path("ro.db"), 0444);
	if (geteuid() != 0) {
		expect_open_error(db_path("ro.db"), "read-only", "read-only file refused");
	} else {
		/* Root writes through 0444, so the open is tried as nobody. */
		chmod(dir, 0755);
		rc = open_as_nobody(db_path("ro.db"), err, sizeof(err));
		CHECK(rc == -1 && strstr(err, db_path("ro.db")) && strstr(err, "read-only"),
		      "read-only file refused (opened as uid 65534): %s", err);
		chmod(dir, 0700);
	}
}

/* The key is a hash of the identity fields: every field counts, and the
 * SQL function (migration, merge) agrees with the C one (inserts). The
 * values were computed independently (Python, the README's definition). */
static void test_dedup_key(void)
{
	sqlite3 *db;

	CHECK(kx_dedup_key("s1", "tls", "192.0.2.10", 51000, "198.51.100.1", 443) ==
		      INT64_C(4023484434388663910),
	      "dedup_key of a known identity");
	CHECK(kx_dedup_key("", "tls", "192.0.2.10", 51000, "198.51.100.1", 443) !=
		      kx_dedup_key(NULL, "quic", "192.0.2.10", 51000, "198.51.100.1", 443),
	      "protocol counts");
	CHECK(kx_dedup_key("s1", "tls", "192.0.2.10", 51000, "198.51.100.1", 443) !=
		      kx_dedup_key("s1", "tls", "192.0.2.10", 51001, "198.51.100.1", 443),
	      "client port counts");
	/* Field boundaries are part of the hash: "a"+"bc" is not "ab"+"c". */
	CHECK(kx_dedup_key("a", "bc", "x", 1, "y", 2) != kx_dedup_key("ab", "c", "x", 1, "y", 2),
	      "fields are delimited");
	CHECK(kx_dedup_key(NULL, "tls", "x", 1, "y", 2) == kx_dedup_key("", "tls", "x", 1, "y", 2),
	      "NULL hashes as the empty string");
	if (sqlite3_open(":memory:", &db) != SQLITE_OK || kx_store_register_functions(db) != SQLITE_OK) {
		printf("Bail out! cannot register kx_dedup_key\n");
		exit(1);
	}
	check_str(sql_row(db, "SELECT kx_dedup_key('s1', 'tls', '2001:db8::10', 40000,"
			      " '2001:db8::1', 443)"),
		  "-6790497101428714896", "the SQL function gives the same key");
	sqlite3_close(db);
}

/* The views format timestamps in SQL (schema v5 rows keep only the
 * integer): the text must be kx_time_str()'s, byte for byte. */
static void test_ts_text(void)
{
	static const int64_t v[] = { 0, 1, 999999, 1000000, 951782400123456 /* 2000-02-29 */,
				     1767225601003130, 4102444799999999, 253402300799999999,
				     253402300800000000, -1, INT64_MIN, INT64_MAX };
	sqlite3 *db;
	sqlite3_stmt *s;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT " KX_SQL_TS_TEXT("?1"), -1, &s, NULL) != SQLITE_OK) {
		CHECK(0, "prepare: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return;
	}
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char want[32];
		kx_time_str((uint64_t)v[i], want, sizeof(want));
		sqlite3_bind_int64(s, 1, v[i]);
		const char *got = sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
								 : NULL;
		CHECK(got && strcmp(got, want) == 0, "SQL timestamp text of %lld: %s, want %s",
		      (long long)v[i], got ? got : "(none)", want);
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
	sqlite3_close(db);
}

int main(void)
{
	dir = test_dir();
	test_ts_text();
	test_dedup_key();
	test_rows();
	test_batching();
	test_busy();
	test_disk_full();
	test_failed_insert();
	test_view_insert();
	test_many_hellos();
	test_refusals();
	rm_dir(dir);
	return tap_done();
}
