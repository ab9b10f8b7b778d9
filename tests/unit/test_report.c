/* test_report.c: the hops view and the report in its three formats, over
 * endpoints that exercise every endpoint verdict. The expected text was
 * produced by an independent script from the hop rows written out below. */
#include <errno.h>
#include <sys/stat.h>

#include "kexwatch/report.h"
#include "kexwatch/store.h"
#include "store_test.h"

static const char want_hops[] =
	"198.51.100.2|443|declined.example|2025-11-22T10:00:05.123456Z|2025-11-22T10:00:06.124456Z|2|2|0|0|0|2|1|1|0|0|0|0|x25519|classical (server-declined)|5\n"
	"203.0.113.5|8443|NULL|2025-11-22T10:00:04.123456Z|2025-11-22T10:00:04.124456Z|1|1|0|0|0|1|0|0|1|0|0|0|secp256r1|classical (clients-no-pq)|4\n"
	"198.51.100.3|443|draft.example|2025-11-22T10:00:07.123456Z|2025-11-22T10:00:08.124456Z|2|1|1|0|1|0|0|0|0|0|0|0|X25519Kyber768Draft00,X25519MLKEM768|draft-kyber|3\n"
	"198.51.100.4|443|mixed.example|2025-11-22T10:00:09.123456Z|2025-11-22T10:00:10.124456Z|2|2|1|0|0|1|1|0|0|0|0|0|X25519MLKEM768,x25519|mixed|2\n"
	"198.51.100.5|443|quiet.example|2025-11-22T10:00:11.123456Z|2025-11-22T10:00:12.124456Z|2|1|0|0|0|0|0|0|0|1|1|0|NULL|unknown|1\n"
	"198.51.100.6|443|odd.example|2025-11-22T10:00:13.123456Z|2025-11-22T10:00:13.124456Z|1|1|0|0|0|0|0|0|0|0|0|1|0x1234|unknown|1\n"
	"198.51.100.1|443|example.com|2025-11-22T10:00:01.123456Z|2025-11-22T10:00:03.124456Z|3|2|2|0|0|0|0|0|0|0|1|0|X25519MLKEM768|hybrid|0\n"
	"198.51.100.7|443|evil\x1b""[2J,\"x\".example|2025-11-22T10:00:14.123456Z|2025-11-22T10:00:14.124456Z|1|1|1|0|0|0|0|0|0|0|0|0|X25519MLKEM768|hybrid|0"
;

static const char want_table[] =
	"SERVER        PORT  SNI                      HANDSHAKES  HYBRID  PQ  CLASSICAL  OTHER  GROUPS                                VERDICT\n"
	"198.51.100.2   443  declined.example                  2       0   0          2      0  x25519                                classical (server-declined)\n"
	"203.0.113.5   8443  -                                 1       0   0          1      0  secp256r1                             classical (clients-no-pq)\n"
	"198.51.100.3   443  draft.example                     2       1   0          0      1  X25519Kyber768Draft00,X25519MLKEM768  draft-kyber\n"
	"198.51.100.4   443  mixed.example                     2       1   0          1      0  X25519MLKEM768,x25519                 mixed\n"
	"198.51.100.5   443  quiet.example                     2       0   0          0      2  -                                     unknown\n"
	"198.51.100.6   443  odd.example                       1       0   0          0      1  0x1234                                unknown\n"
	"198.51.100.1   443  example.com                       3       2   0          0      1  X25519MLKEM768                        hybrid\n"
	"198.51.100.7   443  evil\\x1b[2J,\"x\".example           1       1   0          0      0  X25519MLKEM768                        hybrid\n"
;

static const char want_json[] =
	"[\n"
	"  {\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"sni\":\"declined.example\",\"first_seen\":\"2025-11-22T10:00:05.123456Z\",\"last_seen\":\"2025-11-22T10:00:06.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":2,\"n_client_no_pq\":1,\"n_server_declined\":1,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"x25519\",\"verdict\":\"classical (server-declined)\",\"risk\":5},\n"
	"  {\"server_ip\":\"203.0.113.5\",\"server_port\":8443,\"sni\":null,\"first_seen\":\"2025-11-22T10:00:04.123456Z\",\"last_seen\":\"2025-11-22T10:00:04.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":1,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"secp256r1\",\"verdict\":\"classical (clients-no-pq)\",\"risk\":4},\n"
	"  {\"server_ip\":\"198.51.100.3\",\"server_port\":443,\"sni\":\"draft.example\",\"first_seen\":\"2025-11-22T10:00:07.123456Z\",\"last_seen\":\"2025-11-22T10:00:08.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":1,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519Kyber768Draft00,X25519MLKEM768\",\"verdict\":\"draft-kyber\",\"risk\":3},\n"
	"  {\"server_ip\":\"198.51.100.4\",\"server_port\":443,\"sni\":\"mixed.example\",\"first_seen\":\"2025-11-22T10:00:09.123456Z\",\"last_seen\":\"2025-11-22T10:00:10.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768,x25519\",\"verdict\":\"mixed\",\"risk\":2},\n"
	"  {\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"sni\":\"quiet.example\",\"first_seen\":\"2025-11-22T10:00:11.123456Z\",\"last_seen\":\"2025-11-22T10:00:12.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":1,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":null,\"verdict\":\"unknown\",\"risk\":1},\n"
	"  {\"server_ip\":\"198.51.100.6\",\"server_port\":443,\"sni\":\"odd.example\",\"first_seen\":\"2025-11-22T10:00:13.123456Z\",\"last_seen\":\"2025-11-22T10:00:13.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":1,\"groups_selected\":\"0x1234\",\"verdict\":\"unknown\",\"risk\":1},\n"
	"  {\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"sni\":\"example.com\",\"first_seen\":\"2025-11-22T10:00:01.123456Z\",\"last_seen\":\"2025-11-22T10:00:03.124456Z\",\"handshakes\":3,\"clients\":2,\"n_hybrid\":2,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"verdict\":\"hybrid\",\"risk\":0},\n"
	"  {\"server_ip\":\"198.51.100.7\",\"server_port\":443,\"sni\":\"evil\\u001b[2J,\\\"x\\\".example\",\"first_seen\":\"2025-11-22T10:00:14.123456Z\",\"last_seen\":\"2025-11-22T10:00:14.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"verdict\":\"hybrid\",\"risk\":0}\n"
	"]\n"
;

static const char want_csv[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,verdict,risk\r\n"
	"198.51.100.2,443,declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,classical (server-declined),5\r\n"
	"203.0.113.5,8443,,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,classical (clients-no-pq),4\r\n"
	"198.51.100.3,443,draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",draft-kyber,3\r\n"
	"198.51.100.4,443,mixed.example,2025-11-22T10:00:09.123456Z,2025-11-22T10:00:10.124456Z,2,2,1,0,0,1,1,0,0,0,0,0,\"X25519MLKEM768,x25519\",mixed,2\r\n"
	"198.51.100.5,443,quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,unknown,1\r\n"
	"198.51.100.6,443,odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,unknown,1\r\n"
	"198.51.100.1,443,example.com,2025-11-22T10:00:01.123456Z,2025-11-22T10:00:03.124456Z,3,2,2,0,0,0,0,0,0,0,1,0,X25519MLKEM768,hybrid,0\r\n"
	"198.51.100.7,443,\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,hybrid,0\r\n"
;

/* The handshake hs moved to server 198.51.100.<server>, SNI sni, client
 * 192.0.2.<client>, k seconds after T0. */
static struct kx_hs at(struct kx_hs hs, int server, const char *sni, int client, int k)
{
	if (server)
		set_v4(&hs.server_ip, 198, 51, 100, (unsigned char)server);
	if (sni)
		snprintf(hs.sni, sizeof(hs.sni), "%s", sni);
	set_v4(&hs.client_ip, 192, 0, 2, (unsigned char)client);
	hs.client_port = (uint16_t)(50000 + k);
	hs.ts_first_us = T0 + (uint64_t)k * 1000000;
	hs.ts_last_us = hs.ts_first_us + 1000;
	return hs;
}

/* TLS 1.3 selecting group g from a ClientHello offering groups/shares. */
static struct kx_hs select_group(uint16_t g, bool offer_pq)
{
	struct kx_hs hs = hs_hybrid();

	if (!offer_pq) {
		SET(hs.ch[0].groups, hs.ch[0].n_groups, 29, 23);
		SET(hs.ch[0].shares, hs.ch[0].n_shares, 29);
	} else if (g == 0x6399) {
		SET(hs.ch[0].groups, hs.ch[0].n_groups, 0x6399, 29);
		SET(hs.ch[0].shares, hs.ch[0].n_shares, 0x6399);
	}
	hs.group = g;
	kx_classify(&hs);
	return hs;
}

static struct kx_hs resumed(void)
{
	struct kx_hs hs = hs_hybrid();

	hs.have_group = false;
	hs.psk_selected = true;
	hs.resumed = true;
	kx_classify(&hs);
	return hs;
}

static void fill(const char *path)
{
	const char evil[] = "evil\x1b[2J,\"x\".example";
	struct kx_hs h[] = {
		at(hs_hybrid(), 1, "example.com", 10, 1),
		at(hs_hybrid(), 1, "example.com", 20, 2),
		at(hs_incomplete(), 1, "example.com", 10, 3),
		at(hs_tls12(), 0, NULL, 11, 4),
		at(select_group(29, true), 2, "declined.example", 10, 5),
		at(select_group(29, false), 2, "declined.example", 11, 6),
		at(select_group(0x6399, true), 3, "draft.example", 10, 7),
		at(hs_hybrid(), 3, "draft.example", 10, 8),
		at(hs_hybrid(), 4, "mixed.example", 10, 9),
		at(select_group(29, false), 4, "mixed.example", 12, 10),
		at(resumed(), 5, "quiet.example", 10, 11),
		at(hs_incomplete(), 5, "quiet.example", 10, 12),
		at(select_group(0x1234, true), 6, "odd.example", 10, 13),
		at(hs_hybrid(), 7, evil, 10, 14),
	};
	struct kx_counters c = { 0 };
	struct kx_store *st;
	char err[512];
	int rc = kx_store_open(path, NULL, &st, err, sizeof(err));

	rc |= kx_store_begin_run(st, "s", "test", T0);
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		rc |= kx_store_add(st, &h[i], &c);
	rc |= kx_store_end_run(st, &c, T0 + 60000000);
	kx_store_close(st);
	if (rc) {
		printf("Bail out! cannot fill %s\n", path);
		exit(1);
	}
}

/* Runs the report into memory; returns its text or "ERROR: message". */
static char *report(const char *path, enum kx_out_format fmt)
{
	char *text = NULL, err[512] = "";
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int rc = kx_report_hops(path, fmt, f, err, sizeof(err));

	fclose(f);
	if (rc < 0) {
		free(text);
		text = malloc(strlen(err) + 8);
		sprintf(text, "ERROR: %s", err);
	}
	return text;
}

static void check_report(const char *path, enum kx_out_format fmt, const char *want,
			 const char *what)
{
	char *text = report(path, fmt);

	check_str(text, want, what);
	free(text);
}

int main(void)
{
	const char *dir = test_dir();
	char path[512], empty[512], missing[512];
	sqlite3 *db;
	char *text;

	snprintf(path, sizeof(path), "%s/hops.db", dir);
	fill(path);
	db = open_db(path);
	check_str(sql_rows(db, "SELECT * FROM hops ORDER BY risk DESC, handshakes DESC,"
			       " server_ip, server_port, sni", NULL, 100),
		  want_hops, "hops view: counts, groups, verdict and risk per endpoint");
	check_str(sql_row(db, "SELECT count(*) FROM handshakes"), "14", "14 handshakes stored");
	sqlite3_close(db);

	check_report(path, KX_OUT_TABLE, want_table, "table: aligned, riskiest first, SNI escaped");
	check_report(path, KX_OUT_JSON, want_json, "JSON: every view column");
	check_report(path, KX_OUT_CSV, want_csv, "CSV: RFC 4180 quoting, CRLF");

	snprintf(empty, sizeof(empty), "%s/empty.db", dir);
	kx_store_close(NULL);
	{
		struct kx_store *st;
		char err[256];
		kx_store_open(empty, NULL, &st, err, sizeof(err));
		kx_store_close(st);
	}
	check_report(empty, KX_OUT_TABLE,
		     "SERVER  PORT  SNI  HANDSHAKES  HYBRID  PQ  CLASSICAL  OTHER  GROUPS  VERDICT\n",
		     "table of an empty inventory: the header");
	check_report(empty, KX_OUT_JSON, "[]\n", "JSON of an empty inventory: []");

	snprintf(missing, sizeof(missing), "%s/missing.db", dir);
	text = report(missing, KX_OUT_TABLE);
	CHECK(strstr(text, "ERROR: ") && strstr(text, missing) &&
		      strstr(text, "No such file or directory"),
	      "missing database: %s", text);
	free(text);
	CHECK(access(missing, F_OK) < 0 && errno == ENOENT, "and it is not created");

	fclose(fopen(missing, "w"));
	text = report(missing, KX_OUT_TABLE);
	CHECK(strstr(text, "empty file, not a kexwatch database") != NULL, "empty file: %s", text);
	free(text);

	rm_dir(dir);
	return tap_done();
}
