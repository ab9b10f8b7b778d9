/* SPDX-License-Identifier: BSD-2-Clause */
/* test_json.c: the JSON-lines event: exact text, and valid JSON carrying
 * exactly the cleaned bytes whatever hostile bytes SNI and ALPN hold. */
#include <arpa/inet.h>
#include <iconv.h>
#include <time.h>

#include "kexwatch/capture.h"
#include "kexwatch/emit.h"
#include "kexwatch/fingerprint.h"
#include "kx_config.h"
#include "store_test.h"

static const char want_hybrid[] =
	"{\"event_type\":\"handshake\",\"schema_version\":2,\"kexwatch_version\":\"" KX_VERSION "\","
	"\"id\":\"0006442bfe3f8a4037d649c6970cbe66\",\"community_id\":\"1:HVIbJojl0+m8snfQceKoXKmf85U=\","
	"\"ts_first\":\"2025-11-22T10:00:00.123456Z\",\"ts_last\":\"2025-11-22T10:00:00.135801Z\","
	"\"transport\":\"tcp\",\"protocol\":\"tls\",\"starttls\":null,\"client_ip\":\"192.0.2.10\","
	"\"client_port\":51000,\"server_ip\":\"198.51.100.1\",\"server_port\":443,"
	"\"ip_version\":4,\"vlan\":0,\"sni\":\"example.com\",\"alpn\":[\"h2\",\"http/1.1\"],"
	"\"version\":\"TLS1.3\",\"cipher_suite\":4865,\"cipher_suite_name\":\"TLS_AES_128_GCM_SHA256\",\"legacy_version\":771,"
	"\"versions_offered\":[10794,772,771],\"groups_offered\":[2570,4588,29,23,24],"
	"\"groups_offered_names\":[\"GREASE\",\"X25519MLKEM768\",\"x25519\",\"secp256r1\","
	"\"secp384r1\"],\"groups_offered_2\":null,\"key_shares\":[[2570,4588,29]],"
	"\"offers_pq\":true,\"hrr\":false,\"hrr_group\":null,\"group_code\":4588,"
	"\"group_name\":\"X25519MLKEM768\",\"group_family\":\"hybrid\",\"tls12_kx\":null,"
	"\"verdict\":\"hybrid\",\"reason\":null,\"resumed\":false,\"psk\":false,"
	"\"ch_bytes\":1802,\"ch_segments\":2,"
	"\"ch2_bytes\":null,\"ch2_segments\":null,"
	"\"ch_to_sh_us\":12345,\"sigalgs\":[1027,2052,1025],\"ech\":false,"
	"\"list_overflow\":false,"
	"\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\",\"ja4_2\":null,"
	"\"ja4s\":\"t130200_1301_234ea6891581\",\"ja4s_hrr\":null,"
	"\"kx_fp\":\"11ec,001d,0017,0018_11ec,001d\",\"kx_fp_2\":null,"
	"\"hassh\":null,\"hassh_server\":null,\"key_share_sizes\":[[1,1216,32]],"
	"\"server_share_size\":1120,\"kx_anomalies\":[],"
	"\"sigalgs_names\":[\"ecdsa_secp256r1_sha256\",\"rsa_pss_rsae_sha256\","
	"\"rsa_pkcs1_sha256\"],\"offers_mldsa\":false,\"cert_status\":\"encrypted\","
	"\"cert_key\":null,\"cert_key_bits\":null,\"cert_curve\":null,\"cert_sig\":null,"
	"\"ske_sigalg\":null,\"ske_sigalg_name\":null,"
	"\"ndpi\":\"TLS.Google\",\"sensor\":\"s1\","
	"\"source\":\"a.pcap\",\"interface\":null,\"pkt_first_ch\":4,\"pkt_sh\":6,"
	"\"tunnel\":null,\"client_hello_seen\":true,\"regression\":false,\"app\":null,\"bytes\":null}\n";

static const char want_hrr[] =
	"{\"event_type\":\"handshake\",\"schema_version\":2,\"kexwatch_version\":\"" KX_VERSION "\","
	"\"id\":\"0006442bfe4ecc80a1c34edd25059270\",\"community_id\":\"1:yPNc2sfo3Sxa/SegHzSdcuyz8cM=\","
	"\"ts_first\":\"2025-11-22T10:00:01.123456Z\",\"ts_last\":\"2025-11-22T10:00:01.153456Z\","
	"\"transport\":\"tcp\",\"protocol\":\"tls\",\"starttls\":null,\"client_ip\":\"2001:db8::10\","
	"\"client_port\":40000,\"server_ip\":\"2001:db8::1\",\"server_port\":443,"
	"\"ip_version\":6,\"vlan\":100,\"sni\":\"hrr.example\",\"alpn\":[],"
	"\"version\":\"TLS1.3\",\"cipher_suite\":4866,\"cipher_suite_name\":\"TLS_AES_256_GCM_SHA384\",\"legacy_version\":771,"
	"\"versions_offered\":[772],\"groups_offered\":[29,4588],"
	"\"groups_offered_names\":[\"x25519\",\"X25519MLKEM768\"],"
	"\"groups_offered_2\":[29,4588],\"key_shares\":[[29],[4588]],"
	"\"offers_pq\":true,\"hrr\":true,\"hrr_group\":4588,\"group_code\":4588,"
	"\"group_name\":\"X25519MLKEM768\",\"group_family\":\"hybrid\",\"tls12_kx\":null,"
	"\"verdict\":\"hybrid\",\"reason\":null,\"resumed\":false,\"psk\":false,"
	"\"ch_bytes\":300,\"ch_segments\":1,"
	"\"ch2_bytes\":1500,\"ch2_segments\":2,"
	"\"ch_to_sh_us\":30000,\"sigalgs\":[2052],\"ech\":false,"
	"\"list_overflow\":false,\"ja4\":null,\"ja4_2\":null,\"ja4s\":null,"
	"\"ja4s_hrr\":null,\"kx_fp\":\"001d,11ec_001d\",\"kx_fp_2\":\"001d,11ec_11ec\","
	"\"hassh\":null,\"hassh_server\":null,\"key_share_sizes\":null,"
	"\"server_share_size\":null,\"kx_anomalies\":[],"
	"\"sigalgs_names\":[\"rsa_pss_rsae_sha256\"],\"offers_mldsa\":false,"
	"\"cert_status\":\"unseen\",\"cert_key\":null,\"cert_key_bits\":null,"
	"\"cert_curve\":null,\"cert_sig\":null,\"ske_sigalg\":null,\"ske_sigalg_name\":null,"
	"\"ndpi\":null,\"sensor\":\"s1\","
	"\"source\":\"eth0\",\"interface\":\"eth0\",\"pkt_first_ch\":1,\"pkt_sh\":9,"
	"\"tunnel\":null,\"client_hello_seen\":true,\"regression\":false,\"app\":null,\"bytes\":null}\n";

static const char want_tls12[] =
	"{\"event_type\":\"handshake\",\"schema_version\":2,\"kexwatch_version\":\"" KX_VERSION "\","
	"\"id\":\"0006442bfe5e0ec0d0d9a233bd8c8738\",\"community_id\":\"1:kmBkJ8In6e+Pw0Uw/MNz9D7Se8c=\","
	"\"ts_first\":\"2025-11-22T10:00:02.123456Z\",\"ts_last\":\"2025-11-22T10:00:02.123956Z\","
	"\"transport\":\"tcp\",\"protocol\":\"tls\",\"starttls\":null,\"client_ip\":\"192.0.2.11\","
	"\"client_port\":50001,\"server_ip\":\"203.0.113.5\",\"server_port\":8443,"
	"\"ip_version\":4,\"vlan\":0,\"sni\":null,\"alpn\":[],"
	"\"version\":\"TLS1.2\",\"cipher_suite\":49199,\"cipher_suite_name\":\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",\"legacy_version\":771,"
	"\"versions_offered\":[],\"groups_offered\":[29,23],"
	"\"groups_offered_names\":[\"x25519\",\"secp256r1\"],\"groups_offered_2\":null,"
	"\"key_shares\":[[]],\"offers_pq\":false,\"hrr\":false,\"hrr_group\":null,"
	"\"group_code\":23,\"group_name\":\"secp256r1\",\"group_family\":\"classical\","
	"\"tls12_kx\":\"ECDHE\",\"verdict\":\"classical\",\"reason\":\"tls12\","
	"\"resumed\":false,\"psk\":false,\"ch_bytes\":220,"
	"\"ch_segments\":1,\"ch2_bytes\":null,"
	"\"ch2_segments\":null,\"ch_to_sh_us\":500,\"sigalgs\":[1025],"
	"\"ech\":false,\"list_overflow\":false,"
	"\"ja4\":\"t12i020300_0f2cb44170f4_d41ae481755e\",\"ja4_2\":null,"
	"\"ja4s\":\"t120400_c02f_4e8089b08790\",\"ja4s_hrr\":null,"
	"\"kx_fp\":\"001d,0017_\",\"kx_fp_2\":null,\"hassh\":null,\"hassh_server\":null,"
	"\"key_share_sizes\":[[]],\"server_share_size\":65,\"kx_anomalies\":[],"
	"\"sigalgs_names\":[\"rsa_pkcs1_sha256\"],\"offers_mldsa\":false,"
	"\"cert_status\":\"seen\",\"cert_key\":\"rsa\",\"cert_key_bits\":3072,"
	"\"cert_curve\":null,\"cert_sig\":\"sha384WithRSAEncryption\",\"ske_sigalg\":2052,"
	"\"ske_sigalg_name\":\"rsa_pss_rsae_sha256\",\"ndpi\":null,\"sensor\":null,"
	"\"source\":null,\"interface\":null,\"pkt_first_ch\":12,\"pkt_sh\":13,"
	"\"tunnel\":null,\"client_hello_seen\":true,\"regression\":false,\"app\":null,\"bytes\":null}\n";

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 > cap) {
			cap = 2 * cap + 4096;
			buf = realloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	fclose(f);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

static char *write_events(const char *path, const struct kx_hs *hs, unsigned n,
			  const char *sensor, const char *source, size_t *ret_len)
{
	char err[256];
	struct kx_json *j;

	unlink(path);
	j = kx_json_open(path, err, sizeof(err));
	if (!j) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	for (unsigned i = 0; i < n; i++)
		if (kx_json_write(j, &hs[i], sensor, source) < 0)
			printf("# write %u failed\n", i);
	kx_json_flush(j);
	kx_json_close(j);
	return slurp(path, ret_len);
}

static void test_exact(const char *dir)
{
	char path[512], *text;
	struct kx_hs hs[2] = { hs_hybrid(), hs_hrr() };
	struct kx_hs hs12 = hs_tls12(), inc = hs_incomplete(), unk = hs_hybrid();
	size_t len;

	/* What the parsers add (issue 18): fingerprints, sizes, the certificate.
	 * The JA4 strings are the specification's examples, carried as text. */
	snprintf(hs[0].ch[0].ja4, sizeof(hs[0].ch[0].ja4), "t13d1516h2_8daaf6152771_e5627efa2ab1");
	snprintf(hs[0].ja4s, sizeof(hs[0].ja4s), "t130200_1301_234ea6891581");
	hs[0].ch[0].from_wire = true;
	hs[0].ch[0].share_len[0] = 1, hs[0].ch[0].share_len[1] = 1216, hs[0].ch[0].share_len[2] = 32;
	hs[0].server_share_seen = true;
	hs[0].server_share_len = 1120;
	hs[0].cert.status = KX_CERT_ENCRYPTED;
	snprintf(hs12.ch[0].ja4, sizeof(hs12.ch[0].ja4), "t12i020300_0f2cb44170f4_d41ae481755e");
	snprintf(hs12.ja4s, sizeof(hs12.ja4s), "t120400_c02f_4e8089b08790");
	hs12.ch[0].from_wire = true;
	hs12.server_share_seen = true;
	hs12.server_share_len = 65;
	hs12.cert.status = KX_CERT_SEEN;
	hs12.cert.key = KX_CERT_KEY_RSA;
	hs12.cert.key_bits = 3072;
	hs12.cert.sig = KX_CERT_SIG_RSA_SHA384;
	hs12.cert.have_ske_sig = true;
	hs12.cert.ske_sig = 0x0804;
	/* The capture interface (pcapng if_name, live -i) by its interned index. */
	hs[1].iface = kx_iface_intern("eth0", 4);
	sqlite3 *db;
	char sql[8192], err[256];

	snprintf(path, sizeof(path), "%s/events.jsonl", dir);
	text = write_events(path, &hs[0], 1, "s1", "a.pcap", &len);
	check_str(text, want_hybrid, "event: TLS 1.3 hybrid");
	free(text);
	text = write_events(path, &hs[1], 1, "s1", "eth0", &len);
	check_str(text, want_hrr, "event: IPv6 HelloRetryRequest");
	free(text);
	text = write_events(path, &hs12, 1, NULL, NULL, &len);
	check_str(text, want_tls12, "event: TLS 1.2, no SNI, sensor and source null");
	free(text);

	/* Appending: a reopened output keeps what it had. */
	unlink(path);
	for (int i = 0; i < 2; i++) {
		struct kx_json *j = kx_json_open(path, err, sizeof(err));
		kx_json_write(j, &hs[i], "s1", i ? "eth0" : "a.pcap");
		kx_json_close(j);
	}
	text = slurp(path, &len);
	snprintf(sql, sizeof(sql), "%s%s", want_hybrid, want_hrr);
	check_str(text, sql, "output opened for appending");
	free(text);

	db = open_db(":memory:");
	text = write_events(path, &inc, 1, "s", "x", &len);
	text[len - 1] = '\0';
	check_str(sql_row1(db, "SELECT json_extract(?1, '$.version'),"
			       " json_extract(?1, '$.cipher_suite'), json_extract(?1, '$.group_code'),"
			       " json_extract(?1, '$.group_name'), json_extract(?1, '$.verdict'),"
			       " json_extract(?1, '$.reason'), json_extract(?1, '$.ch_to_sh_us'),"
			       " json_extract(?1, '$.pkt_sh'), json_type(?1, '$.version')", text),
		  "NULL|NULL|NULL|NULL|incomplete|rst|NULL|NULL|null",
		  "event: incomplete has nulls where nothing was selected");
	free(text);

	unk.ch[0].groups[1] = 0x1234;
	unk.group = 0x1234;
	kx_classify(&unk);
	text = write_events(path, &unk, 1, "s", "x", &len);
	check_str(sql_row1(db, "SELECT json_extract(?1, '$.groups_offered_names'),"
			       " json_extract(?1, '$.group_name'), json_extract(?1, '$.group_family'),"
			       " json_extract(?1, '$.verdict')", text),
		  "[\"GREASE\",\"0x1234\",\"x25519\",\"secp256r1\",\"secp384r1\"]"
		  "|0x1234|unknown|unknown", "event: unknown code point named 0x1234");
	free(text);
	sqlite3_close(db);
}

static const char hostile_sni[] =
	"a\"b\\c\x01\x1f\x7f \xc3\xa9 \xff \xc3\x28 \xe0\x80\x80 \xed\xa0\x80 "
	"\xf4\x90\x80\x80 \xf0\x9f\x94\x92 \xc0\xaf \xe2\x82";

static void test_hostile(const char *dir)
{
	char path[512], *text, buf[1024];
	struct kx_hs hs = hs_hybrid();
	size_t len;

	memcpy(hs.sni, hostile_sni, sizeof(hostile_sni));
	strcpy(hs.alpn, "h2,a\"b,\xff,\n,");
	strcpy(hs.ndpi_label, "\x1b[31mred");
	snprintf(path, sizeof(path), "%s/hostile.jsonl", dir);
	text = write_events(path, &hs, 1, "s\"1", "a\\b", &len);
	CHECK(strstr(text, "\"sni\":\"a\\\"b\\\\c\\u0001\\u001f\\u007f \xc3\xa9 \\ufffd "
			   "\\ufffd( \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd "
			   "\\ufffd\\ufffd\\ufffd\\ufffd \xf0\x9f\x94\x92 \\ufffd\\ufffd "
			   "\\ufffd\\ufffd\",") != NULL,
	      "hostile SNI escaped, stray bytes as \\ufffd");
	CHECK(strstr(text, "\"alpn\":[\"h2\",\"a\\\"b\",\"\\ufffd\",\"\\u000a\",\"\"],") != NULL,
	      "hostile ALPN escaped, empty id kept");
	CHECK(strstr(text, "\"ndpi\":\"\\u001b[31mred\"") != NULL, "nDPI label escaped");
	CHECK(strstr(text, "\"sensor\":\"s\\\"1\",\"source\":\"a\\\\b\"") != NULL,
	      "sensor and source escaped");
	free(text);

	len = kx_utf8_clean(hostile_sni, strlen(hostile_sni), buf, sizeof(buf));
	check_str(buf, "a\"b\\c\x01\x1f\x7f \xc3\xa9 \xef\xbf\xbd \xef\xbf\xbd( "
		       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
		       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xf0\x9f\x94\x92 "
		       "\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd",
		  "UTF-8 cleaning for the database");
	CHECK_EQ(len, strlen(buf), "cleaned length");

	/* snprintf rule: a short buffer is cut, NUL-terminated, and the full
	 * length is returned. */
	len = kx_alpn_json("h2,http/1.1", 11, buf, 8);
	CHECK(len == 17 && strcmp(buf, "[\"h2\",\"") == 0, "short buffer: cut, full length %zu",
	      len);
	len = kx_groups_json(NULL, 0, buf, sizeof(buf));
	CHECK(len == 2 && strcmp(buf, "[]") == 0, "empty list is []");

	/* Every code point as printf writes it, alone and in a list. */
	unsigned bad = 0;
	for (unsigned x = 0; x <= 0xffff; x++) {
		uint16_t v[3] = { (uint16_t)x, (uint16_t)(0xffff - x), (uint16_t)(x * 7) };
		char want[32];
		snprintf(want, sizeof(want), "[%u,%u,%u]", v[0], v[1], v[2]);
		len = kx_groups_json(v, 3, buf, sizeof(buf));
		if (len != strlen(want) || strcmp(buf, want) != 0)
			bad++;
	}
	CHECK_EQ(bad, 0, "all 65536 code points in decimal, as printf writes them");
}

static uint32_t rng = 0x12345678;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Valid UTF-8 by glibc's own decoder, not ours. */
static bool utf8_valid(const char *s, size_t n)
{
	iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
	static char out[1 << 16];
	char *in = (char *)s, *o = out;
	size_t in_left = n, out_left = sizeof(out);
	bool ok = iconv(cd, &in, &in_left, &o, &out_left) != (size_t)-1 && in_left == 0;

	iconv_close(cd);
	return ok;
}

/* Random bytes in SNI and ALPN: every line must be one valid JSON object
 * whose decoded strings are exactly what the database would store. */
static void test_random(const char *dir)
{
	enum { N = 3000 };
	static struct kx_hs hs[N];
	char path[512], *text, *line, *save = NULL;
	unsigned lines = 0, bad_json = 0, bad_ctl = 0, bad_sni = 0, bad_alpn = 0, bad_utf8 = 0;
	sqlite3 *db = open_db(":memory:");
	sqlite3_stmt *q;
	size_t len;

	for (unsigned i = 0; i < N; i++) {
		size_t sn = next() % KX_SNI_MAX, an = next() % KX_ALPN_MAX;
		hs[i] = hs_hybrid();
		for (size_t k = 0; k < sn; k++)
			hs[i].sni[k] = (char)(1 + next() % 255);
		hs[i].sni[sn] = '\0';
		for (size_t k = 0; k < an; k++)
			hs[i].alpn[k] = (char)(1 + next() % 255);
		hs[i].alpn[an] = '\0';
	}
	snprintf(path, sizeof(path), "%s/random.jsonl", dir);
	text = write_events(path, hs, N, "s", "x", &len);
	sqlite3_prepare_v2(db, "SELECT json_valid(?1), json_extract(?1, '$.sni'),"
			       " json_array_length(?1, '$.alpn')", -1, &q, NULL);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char clean[4 * KX_SNI_MAX];
		const struct kx_hs *h = &hs[lines < N ? lines : N - 1];
		size_t cn = kx_utf8_clean(h->sni, strlen(h->sni), clean, sizeof(clean));
		const char *sni;
		int pieces = *h->alpn ? 1 : 0;

		for (const char *p = h->alpn; *p; p++)
			pieces += *p == ',';
		for (const unsigned char *p = (const unsigned char *)line; *p; p++)
			bad_ctl += *p < 0x20;
		bad_utf8 += !utf8_valid(line, strlen(line)) || !utf8_valid(clean, cn);
		sqlite3_bind_text(q, 1, line, -1, SQLITE_STATIC);
		sqlite3_step(q);
		bad_json += sqlite3_column_int(q, 0) != 1;
		sni = (const char *)sqlite3_column_text(q, 1);
		bad_sni += cn ? !sni || strcmp(sni, clean) != 0 : sni != NULL;
		bad_alpn += sqlite3_column_int(q, 2) != pieces;
		sqlite3_reset(q);
		lines++;
	}
	CHECK_EQ(lines, N, "random SNI/ALPN: one line per event");
	CHECK_EQ(bad_ctl, 0, "random SNI/ALPN: no raw control bytes");
	CHECK_EQ(bad_utf8, 0, "random SNI/ALPN: output and cleaned text are valid UTF-8");
	CHECK_EQ(bad_json, 0, "random SNI/ALPN: every line is valid JSON");
	CHECK_EQ(bad_sni, 0, "random SNI: decoded JSON string equals the cleaned text");
	CHECK_EQ(bad_alpn, 0, "random ALPN: one array element per id");
	sqlite3_finalize(q);
	sqlite3_close(db);
	free(text);
}

static void test_open(const char *dir)
{
	char path[512], err[512] = "";
	struct kx_json *j;

	snprintf(path, sizeof(path), "%s/no/such/dir.jsonl", dir);
	j = kx_json_open(path, err, sizeof(err));
	CHECK(!j && strstr(err, path) && strstr(err, "No such file or directory"),
	      "open error names the path: %s", err);
	j = kx_json_open("-", err, sizeof(err));
	CHECK(j && kx_json_flush(j) == 0, "\"-\" is stdout");
	kx_json_close(j);
	kx_json_close(NULL);
}

/* kx_addr_str's IPv6 text must be inet_ntop's, byte for byte: every
 * pattern of zero groups (256) with several fillers, then 2 million
 * addresses whose groups are zero, 0xffff, small or random. */
static void test_ipv6_text(void)
{
	static const unsigned fill[] = { 1, 0xffff, 0xabc, 0x1000, 0x7f00, 0x0a01 };
	struct kx_addr a = { .family = 6 };
	char mine[64], libc[64];
	unsigned long bad = 0, n = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (unsigned mask = 0; mask < 256; mask++)
		for (unsigned f = 0; f < sizeof(fill) / sizeof(fill[0]); f++)
			for (unsigned v4 = 0; v4 < 2; v4++) {
				for (int i = 0; i < 8; i++) {
					unsigned w = mask >> i & 1 ? 0 : fill[(f + (unsigned)i) % 6];
					if (v4 && i >= 6)
						w = 0xc000 + (unsigned)i;
					a.a[2 * i] = (uint8_t)(w >> 8);
					a.a[2 * i + 1] = (uint8_t)w;
				}
				kx_addr_str(&a, mine, sizeof(mine));
				inet_ntop(AF_INET6, a.a, libc, sizeof(libc));
				bad += strcmp(mine, libc) != 0;
				if (strcmp(mine, libc) != 0 && bad < 4)
					printf("# mine %s, inet_ntop %s\n", mine, libc);
				n++;
			}
	for (int k = 0; k < 2000000; k++) {
		for (int i = 0; i < 8; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			unsigned r = (unsigned)(x >> 40), w;
			switch (r & 3) {
			case 0: case 1: w = 0; break;
			case 2: w = r >> 8 & 1 ? 0xffff : (r >> 9 & 0xf); break;
			default: w = (unsigned)(x & 0xffff); break;
			}
			a.a[2 * i] = (uint8_t)(w >> 8);
			a.a[2 * i + 1] = (uint8_t)w;
		}
		kx_addr_str(&a, mine, sizeof(mine));
		inet_ntop(AF_INET6, a.a, libc, sizeof(libc));
		if (strcmp(mine, libc) != 0 && bad++ < 4)
			printf("# mine %s, inet_ntop %s\n", mine, libc);
		n++;
	}
	CHECK(bad == 0, "IPv6 text equals inet_ntop's on %lu addresses (%lu differ)", n, bad);
}

/* kx_time_str's civil date equals gmtime_r's from 1970 to 9999. */
static void test_time_text(void)
{
	char mine[32], want[96];
	unsigned long bad = 0, n = 0;
	uint64_t x = 12345;
	uint64_t edges[] = { 0, 86399, 86400, 951782400, 951868800, 4107542400ull, 253402300799ull };
	for (int k = 0; k < 1000000 + 7; k++) {
		uint64_t sec;
		if (k < 7) {
			sec = edges[k];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			sec = x % 253402300800ull;
		}
		time_t t = (time_t)sec;
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (unsigned)(k % 1000000));
		kx_time_str(sec * 1000000 + (uint64_t)(k % 1000000), mine, sizeof(mine));
		if (strcmp(mine, want) != 0 && bad++ < 4)
			printf("# mine %s, gmtime_r %s\n", mine, want);
		n++;
	}
	CHECK(bad == 0, "timestamps equal gmtime_r's on %lu values (%lu differ)", n, bad);
	check_str(kx_time_str(253402300800ull * 1000000, mine, sizeof(mine)), "invalid",
		  "year 10000 is refused");
}

int main(void)
{
	const char *dir = test_dir();

	test_ipv6_text();
	test_time_text();

	test_exact(dir);
	test_hostile(dir);
	test_random(dir);
	test_open(dir);
	rm_dir(dir);
	return tap_done();
}
