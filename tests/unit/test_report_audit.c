/* SPDX-License-Identifier: BSD-2-Clause */
/* test_report_audit.c: the policy file parser (every error names FILE:LINE)
 * and the audit over the handshakes of report_test.h: CIDR (IPv4, IPv6),
 * ports and ranges, SNI globs, first match wins, PASS/WARN/FAIL/NO TRAFFIC,
 * --strict, and the evidence of the last classical handshake. */
#include "report_test.h"

static void parse_error(const char *text, const char *want, const char *what)
{
	char err[512] = "";
	struct kx_policy *p = kx_policy_parse(text, "p.txt", err, sizeof(err));

	CHECK(!p && strcmp(err, want) == 0, "%s: %s", what, err);
	if (p || strcmp(err, want) != 0)
		printf("# want: %s\n", want);
	kx_policy_free(p);
}

static void test_parse(void)
{
	parse_error("", "p.txt: no rules (expected lines such as 'required 10.0.0.0/8 443 "
			"*.example.com')", "empty policy");
	parse_error("# only a comment\n\n", "p.txt: no rules (expected lines such as 'required "
					     "10.0.0.0/8 443 *.example.com')", "comments only");
	parse_error("warn * * *\nrequire * * *\n",
		    "p.txt:2: unknown action 'require': expected required or warn", "bad action");
	parse_error("required * *\n", "p.txt:1: expected 4 fields (ACTION SERVER PORT SNI), got 3",
		    "three fields");
	parse_error("\n\nrequired * * * extra\n",
		    "p.txt:3: expected 4 fields (ACTION SERVER PORT SNI), got more than 4",
		    "five fields");
	parse_error("required 10.0.0.0/33 * *\n",
		    "p.txt:1: bad server '10.0.0.0/33': expected *, an IPv4 or IPv6 address, or a "
		    "CIDR block such as 10.0.0.0/8 or 2001:db8::/32", "prefix 33 on IPv4");
	parse_error("required 2001:db8::/129 * *\n",
		    "p.txt:1: bad server '2001:db8::/129': expected *, an IPv4 or IPv6 address, or "
		    "a CIDR block such as 10.0.0.0/8 or 2001:db8::/32", "prefix 129 on IPv6");
	parse_error("required example.com * *\n",
		    "p.txt:1: bad server 'example.com': expected *, an IPv4 or IPv6 address, or a "
		    "CIDR block such as 10.0.0.0/8 or 2001:db8::/32", "a host name");
	parse_error("required 10.0.0.0/ * *\n",
		    "p.txt:1: bad server '10.0.0.0/': expected *, an IPv4 or IPv6 address, or a "
		    "CIDR block such as 10.0.0.0/8 or 2001:db8::/32", "empty prefix");
	parse_error("required * 0 *\n",
		    "p.txt:1: bad port '0': expected *, a port from 1 to 65535, or a range such as "
		    "8000-8999", "port 0");
	parse_error("required * 65536 *\n",
		    "p.txt:1: bad port '65536': expected *, a port from 1 to 65535, or a range such "
		    "as 8000-8999", "port 65536");
	parse_error("required * 9000-8000 *\n",
		    "p.txt:1: bad port '9000-8000': expected *, a port from 1 to 65535, or a range "
		    "such as 8000-8999", "reversed range");
	parse_error("required * https *\n",
		    "p.txt:1: bad port 'https': expected *, a port from 1 to 65535, or a range such "
		    "as 8000-8999", "service name");
}

static struct kx_policy *policy(const char *text)
{
	char err[512];
	struct kx_policy *p = kx_policy_parse(text, "policy.txt", err, sizeof(err));

	if (!p)
		printf("Bail out! %s\n", err);
	return p;
}

struct audit_arg {
	struct kx_policy *p;
	bool strict;
	bool failed;
	const struct kx_report_filter *f;
};

static int audit_fn(const char *path, const void *arg, enum kx_out_format fmt, FILE *out,
		    char *err, size_t errlen)
{
	struct audit_arg *a = (struct audit_arg *)arg;
	return kx_report_audit(path, a->p, a->f, a->strict, fmt, out, &a->failed, err, errlen);
}

/* The handshakes of fill(): hybrid endpoints .1 and .7, server-declined .2,
 * draft .3, mixed .4, only resumed/incomplete .5, unknown group .6, and
 * TLS 1.2 to 203.0.113.5:8443 without SNI. */
static const char pol_text[] =
	"# kexwatch audit policy\n"
	"required 198.51.100.1 443 EXAMPLE.COM   # case does not matter\n"
	"warn     198.51.100.4/32 443 *\n"
	"required 198.51.100.0/24 400-500 *.example\n"
	"required 203.0.113.0/24 8443 -\n"
	"required 2001:db8::/32 * *\n"
	"\n"
	"warn * * *\n";

static const char want_text[] =
	"policy policy.txt: 6 rules; 14 handshakes, 11 deciding, 0 matched no rule\n"
	"\n"
	"PASS       line 2: required 198.51.100.1 port 443 sni EXAMPLE.COM\n"
	"           3 handshakes, 2 deciding: 2 hybrid/pq, 0 classical, 0 other\n"
	"\n"
	"WARN       line 3: warn 198.51.100.4/32 port 443 sni *\n"
	"           2 handshakes, 2 deciding: 1 hybrid/pq, 1 classical (client-no-pq 1, "
	"server-declined 0, tls12 0), 0 other\n"
	"           last classical: 2025-11-22T10:00:10.123456Z tls 192.0.2.12:50010 -> "
	"198.51.100.4:443 sni mixed.example group x25519 reason client-no-pq\n"
	"           evidence: (unknown source) packet 4 (ServerHello packet 6)\n"
	"\n"
	"FAIL       line 4: required 198.51.100.0/24 port 400-500 sni *.example\n"
	"           8 handshakes, 6 deciding: 2 hybrid/pq, 2 classical (client-no-pq 1, "
	"server-declined 1, tls12 0), 2 other\n"
	"           last classical: 2025-11-22T10:00:06.123456Z tls 192.0.2.11:50006 -> "
	"198.51.100.2:443 sni declined.example group x25519 reason client-no-pq\n"
	"           evidence: (unknown source) packet 4 (ServerHello packet 6)\n"
	"\n"
	"FAIL       line 5: required 203.0.113.0/24 port 8443 sni -\n"
	"           1 handshakes, 1 deciding: 0 hybrid/pq, 1 classical (client-no-pq 0, "
	"server-declined 0, tls12 1), 0 other\n"
	"           last classical: 2025-11-22T10:00:04.123456Z tls 192.0.2.11:50004 -> "
	"203.0.113.5:8443 sni - group secp256r1 reason tls12\n"
	"           evidence: (unknown source) packet 12 (ServerHello packet 13)\n"
	"\n"
	"NO TRAFFIC line 6: required 2001:db8::/32 port * sni *\n"
	"           0 handshakes, 0 deciding: 0 hybrid/pq, 0 classical, 0 other\n"
	"           no deciding handshake matched this rule\n"
	"\n"
	"NO TRAFFIC line 8: warn * port * sni *\n"
	"           0 handshakes, 0 deciding: 0 hybrid/pq, 0 classical, 0 other\n"
	"           no deciding handshake matched this rule\n"
	"\n"
	"audit: FAIL: 2 of 4 required rules failed, 1 warning, 2 without traffic\n";

static const char want_json_since[] =
	"{\"policy\":\"policy.txt\",\"status\":\"warn\",\"strict\":false,\"handshakes\":8,\"sessions\":0,\"deciding\":6,\"unmatched\":0,\"unmatched_deciding\":0,\"required_rules\":4,\"failed\":0,\"warnings\":2,\"no_traffic\":4,\"rules\":[\n"
	" {\"line\":2,\"action\":\"required\",\"server\":\"198.51.100.1\",\"port\":\"443\",\"sni\":\"EXAMPLE.COM\",\"status\":\"no-traffic\",\"handshakes\":0,\"deciding\":0,\"pq\":0,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":null,\"evidence\":null},\n"
	" {\"line\":3,\"action\":\"warn\",\"server\":\"198.51.100.4/32\",\"port\":\"443\",\"sni\":\"*\",\"status\":\"warn\",\"handshakes\":2,\"deciding\":2,\"pq\":1,\"classical\":1,\"client_no_pq\":1,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":\"2025-11-22T10:00:10.123456Z\",\"evidence\":{\"ts\":\"2025-11-22T10:00:10.123456Z\",\"protocol\":\"tls\",\"client_ip\":\"192.0.2.12\",\"client_port\":50010,\"server_ip\":\"198.51.100.4\",\"server_port\":443,\"sni\":\"mixed.example\",\"group\":\"x25519\",\"verdict\":\"classical\",\"reason\":\"client-no-pq\",\"source\":null,\"pkt_first_ch\":4,\"pkt_sh\":6,\"app\":null,\"sessions\":null,\"bytes\":null,\"fingerprint\":null,\"kx_fp\":null}},\n"
	" {\"line\":4,\"action\":\"required\",\"server\":\"198.51.100.0/24\",\"port\":\"400-500\",\"sni\":\"*.example\",\"status\":\"warn\",\"handshakes\":6,\"deciding\":4,\"pq\":2,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":2,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":\"2025-11-22T10:00:14.123456Z\",\"evidence\":{\"ts\":\"2025-11-22T10:00:13.123456Z\",\"protocol\":\"tls\",\"client_ip\":\"192.0.2.10\",\"client_port\":50013,\"server_ip\":\"198.51.100.6\",\"server_port\":443,\"sni\":\"odd.example\",\"group\":\"0x1234\",\"verdict\":\"unknown\",\"reason\":null,\"source\":null,\"pkt_first_ch\":4,\"pkt_sh\":6,\"app\":null,\"sessions\":null,\"bytes\":null,\"fingerprint\":null,\"kx_fp\":null}},\n"
	" {\"line\":5,\"action\":\"required\",\"server\":\"203.0.113.0/24\",\"port\":\"8443\",\"sni\":\"-\",\"status\":\"no-traffic\",\"handshakes\":0,\"deciding\":0,\"pq\":0,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":null,\"evidence\":null},\n"
	" {\"line\":6,\"action\":\"required\",\"server\":\"2001:db8::/32\",\"port\":\"*\",\"sni\":\"*\",\"status\":\"no-traffic\",\"handshakes\":0,\"deciding\":0,\"pq\":0,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":null,\"evidence\":null},\n"
	" {\"line\":8,\"action\":\"warn\",\"server\":\"*\",\"port\":\"*\",\"sni\":\"*\",\"status\":\"no-traffic\",\"handshakes\":0,\"deciding\":0,\"pq\":0,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":null,\"evidence\":null}\n"
	"]}\n";
static const char want_csv_strict[] =
	"line,action,server,port,sni,status,handshakes,deciding,pq,classical,client_no_pq,server_declined,tls12,other,last_handshake,evidence_ts,evidence_protocol,evidence_client_ip,evidence_client_port,evidence_server_ip,evidence_server_port,evidence_sni,evidence_group,evidence_verdict,evidence_reason,evidence_source,evidence_pkt_first_ch,evidence_pkt_sh,sessions,plaintext,unseen,evidence_app,evidence_sessions,evidence_bytes,evidence_fingerprint,evidence_kx_fp\r\n"
	"2,required,198.51.100.1,443,EXAMPLE.COM,no-traffic,0,0,0,0,0,0,0,0,,,,,,,,,,,,,,,0,0,0,,,,,\r\n"
	"3,warn,198.51.100.4/32,443,*,warn,2,2,1,1,1,0,0,0,2025-11-22T10:00:10.123456Z,2025-11-22T10:00:10.123456Z,tls,192.0.2.12,50010,198.51.100.4,443,mixed.example,x25519,classical,client-no-pq,,4,6,0,0,0,,,,,\r\n"
	"4,required,198.51.100.0/24,400-500,*.example,warn,6,4,2,0,0,0,0,2,2025-11-22T10:00:14.123456Z,2025-11-22T10:00:13.123456Z,tls,192.0.2.10,50013,198.51.100.6,443,odd.example,0x1234,unknown,,,4,6,0,0,0,,,,,\r\n"
	"5,required,203.0.113.0/24,8443,-,no-traffic,0,0,0,0,0,0,0,0,,,,,,,,,,,,,,,0,0,0,,,,,\r\n"
	"6,required,2001:db8::/32,*,*,no-traffic,0,0,0,0,0,0,0,0,,,,,,,,,,,,,,,0,0,0,,,,,\r\n"
	"8,warn,*,*,*,no-traffic,0,0,0,0,0,0,0,0,,,,,,,,,,,,,,,0,0,0,,,,,\r\n";
static const char want_csv_match[] =
	"line,action,server,port,sni,status,handshakes,deciding,pq,classical,client_no_pq,server_declined,tls12,other,last_handshake,evidence_ts,evidence_protocol,evidence_client_ip,evidence_client_port,evidence_server_ip,evidence_server_port,evidence_sni,evidence_group,evidence_verdict,evidence_reason,evidence_source,evidence_pkt_first_ch,evidence_pkt_sh,sessions,plaintext,unseen,evidence_app,evidence_sessions,evidence_bytes,evidence_fingerprint,evidence_kx_fp\r\n"
	"1,required,2001:db8::/33,443,*,no-traffic,0,0,0,0,0,0,0,0,,,,,,,,,,,,,,,0,0,0,,,,,\r\n"
	"2,warn,0.0.0.0/0,8000-9000,*,warn,1,1,0,1,0,0,1,0,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.123456Z,tls,192.0.2.11,50004,203.0.113.5,8443,,secp256r1,classical,tls12,,12,13,0,0,0,,,,,\r\n"
	"3,required,198.51.100.0/25,*,*.e*e,fail,10,8,3,3,2,1,0,2,2025-11-22T10:00:14.123456Z,2025-11-22T10:00:10.123456Z,tls,192.0.2.12,50010,198.51.100.4,443,mixed.example,x25519,classical,client-no-pq,,4,6,0,0,0,,,,,\r\n"
	"4,warn,*,*,*,pass,3,2,2,0,0,0,0,0,2025-11-22T10:00:03.123456Z,,,,,,,,,,,,,,0,0,0,,,,,\r\n";

static const char want_legs_text[] =
	"policy policy.txt: 4 rules; 5 handshakes and 8 sessions without one, 8 deciding, 0 matched no rule\n"
	"\n"
	"FAIL       line 1: required 198.51.100.20/31 port * sni *\n"
	"           0 handshakes, 3 deciding: 0 hybrid/pq, 0 classical, 0 other\n"
	"           3 sessions without a handshake: 3 plaintext, 0 handshake unseen\n"
	"           last plaintext: 2025-11-22T12:00:03.123456Z http 192.0.2.30:47203 -> 198.51.100.21:80 reason no-tls (1 session that hour, 300 bytes)\n"
	"           evidence: legs.pcap packet 72030 (the first session of that hour)\n"
	"\n"
	"PASS       line 2: required 198.51.100.22/31 port 443 sni *\n"
	"           1 handshakes, 1 deciding: 1 hybrid/pq, 0 classical, 0 other\n"
	"           4 sessions without a handshake: 0 plaintext, 4 handshake unseen\n"
	"\n"
	"WARN       line 3: warn 198.51.100.24 port 25 sni *\n"
	"           1 handshakes, 2 deciding: 1 hybrid/pq, 0 classical, 0 other\n"
	"           1 session without a handshake: 1 plaintext, 0 handshake unseen\n"
	"           last plaintext: 2025-11-22T12:00:08.123456Z smtp 192.0.2.33:47208 -> 198.51.100.24:25 reason starttls-not-offered (1 session that hour, 900 bytes)\n"
	"           evidence: legs.pcap packet 72080 (the first session of that hour)\n"
	"\n"
	"FAIL       line 4: required * port * sni *\n"
	"           3 handshakes, 2 deciding: 1 hybrid/pq, 1 classical (client-no-pq 0, server-declined 0, tls12 0), 0 other\n"
	"           last classical: 2025-11-22T12:00:09.123456Z tls 192.0.2.34:57209 -> 198.51.100.25:443 sni - group x25519 reason offer-unseen\n"
	"           evidence: legs.pcap packet 6 (ServerHello packet 6)\n"
	"\n"
	"audit: FAIL: 2 of 3 required rules failed, 1 warning, 0 without traffic\n";
static const char want_legs_json[] =
	"{\"policy\":\"policy.txt\",\"status\":\"fail\",\"strict\":false,\"handshakes\":5,\"sessions\":8,\"deciding\":8,\"unmatched\":0,\"unmatched_deciding\":0,\"required_rules\":3,\"failed\":2,\"warnings\":1,\"no_traffic\":0,\"rules\":[\n"
	" {\"line\":1,\"action\":\"required\",\"server\":\"198.51.100.20/31\",\"port\":\"*\",\"sni\":\"*\",\"status\":\"fail\",\"handshakes\":0,\"deciding\":3,\"pq\":0,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":3,\"plaintext\":3,\"unseen\":0,\"last_handshake\":\"2025-11-22T12:00:03.123456Z\",\"evidence\":{\"ts\":\"2025-11-22T12:00:03.123456Z\",\"protocol\":\"http\",\"client_ip\":\"192.0.2.30\",\"client_port\":47203,\"server_ip\":\"198.51.100.21\",\"server_port\":80,\"sni\":null,\"group\":null,\"verdict\":\"plaintext\",\"reason\":\"no-tls\",\"source\":\"legs.pcap\",\"pkt_first_ch\":72030,\"pkt_sh\":null,\"app\":\"http\",\"sessions\":1,\"bytes\":300,\"fingerprint\":null,\"kx_fp\":null}},\n"
	" {\"line\":2,\"action\":\"required\",\"server\":\"198.51.100.22/31\",\"port\":\"443\",\"sni\":\"*\",\"status\":\"pass\",\"handshakes\":1,\"deciding\":1,\"pq\":1,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":4,\"plaintext\":0,\"unseen\":4,\"last_handshake\":\"2025-11-22T12:00:06.123456Z\",\"evidence\":null},\n"
	" {\"line\":3,\"action\":\"warn\",\"server\":\"198.51.100.24\",\"port\":\"25\",\"sni\":\"*\",\"status\":\"warn\",\"handshakes\":1,\"deciding\":2,\"pq\":1,\"classical\":0,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":1,\"plaintext\":1,\"unseen\":0,\"last_handshake\":\"2025-11-22T12:00:08.123456Z\",\"evidence\":{\"ts\":\"2025-11-22T12:00:08.123456Z\",\"protocol\":\"smtp\",\"client_ip\":\"192.0.2.33\",\"client_port\":47208,\"server_ip\":\"198.51.100.24\",\"server_port\":25,\"sni\":null,\"group\":null,\"verdict\":\"plaintext\",\"reason\":\"starttls-not-offered\",\"source\":\"legs.pcap\",\"pkt_first_ch\":72080,\"pkt_sh\":null,\"app\":\"smtp\",\"sessions\":1,\"bytes\":900,\"fingerprint\":null,\"kx_fp\":null}},\n"
	" {\"line\":4,\"action\":\"required\",\"server\":\"*\",\"port\":\"*\",\"sni\":\"*\",\"status\":\"fail\",\"handshakes\":3,\"deciding\":2,\"pq\":1,\"classical\":1,\"client_no_pq\":0,\"server_declined\":0,\"tls12\":0,\"other\":0,\"sessions\":0,\"plaintext\":0,\"unseen\":0,\"last_handshake\":\"2025-11-22T12:00:11.123456Z\",\"evidence\":{\"ts\":\"2025-11-22T12:00:09.123456Z\",\"protocol\":\"tls\",\"client_ip\":\"192.0.2.34\",\"client_port\":57209,\"server_ip\":\"198.51.100.25\",\"server_port\":443,\"sni\":null,\"group\":\"x25519\",\"verdict\":\"classical\",\"reason\":\"offer-unseen\",\"source\":\"legs.pcap\",\"pkt_first_ch\":6,\"pkt_sh\":6,\"app\":null,\"sessions\":null,\"bytes\":null,\"fingerprint\":null,\"kx_fp\":null}}\n"
	"]}\n";
static const char want_legs_csv[] =
	"line,action,server,port,sni,status,handshakes,deciding,pq,classical,client_no_pq,server_declined,tls12,other,last_handshake,evidence_ts,evidence_protocol,evidence_client_ip,evidence_client_port,evidence_server_ip,evidence_server_port,evidence_sni,evidence_group,evidence_verdict,evidence_reason,evidence_source,evidence_pkt_first_ch,evidence_pkt_sh,sessions,plaintext,unseen,evidence_app,evidence_sessions,evidence_bytes,evidence_fingerprint,evidence_kx_fp\r\n"
	"1,required,198.51.100.20/31,*,*,fail,0,3,0,0,0,0,0,0,2025-11-22T12:00:03.123456Z,2025-11-22T12:00:03.123456Z,http,192.0.2.30,47203,198.51.100.21,80,,,plaintext,no-tls,legs.pcap,72030,,3,3,0,http,1,300,,\r\n"
	"2,required,198.51.100.22/31,443,*,pass,1,1,1,0,0,0,0,0,2025-11-22T12:00:06.123456Z,,,,,,,,,,,,,,4,0,4,,,,,\r\n"
	"3,warn,198.51.100.24,25,*,warn,1,2,1,0,0,0,0,0,2025-11-22T12:00:08.123456Z,2025-11-22T12:00:08.123456Z,smtp,192.0.2.33,47208,198.51.100.24,25,,,plaintext,starttls-not-offered,legs.pcap,72080,,1,1,0,smtp,1,900,,\r\n"
	"4,required,*,*,*,fail,3,2,1,1,0,0,0,0,2025-11-22T12:00:11.123456Z,2025-11-22T12:00:09.123456Z,tls,192.0.2.34,57209,198.51.100.25,443,,x25519,classical,offer-unseen,legs.pcap,6,6,0,0,0,,,,,\r\n";

static void test_audit(const char *path)
{
	struct audit_arg a = { policy(pol_text), false, false, NULL };
	struct kx_report_filter f;
	char *text, *again;

	if (!a.p)
		exit(1);
	text = run(audit_fn, path, &a, KX_OUT_TABLE);
	check_str(text, want_text, "audit text: first match wins, evidence, summary");
	CHECK(a.failed, "a required rule failed");
	again = run(audit_fn, path, &a, KX_OUT_TABLE);
	check_str(again, text, "a second audit with the same policy gives the same text");
	free(text);
	free(again);

	/* --since after the failures: rules 4 and 5 see no traffic and pass. */
	kx_report_filter_init(&f);
	f.since_us = (int64_t)T0 + 7000000;
	a.f = &f;
	text = run(audit_fn, path, &a, KX_OUT_JSON);
	check_str(text, want_json_since, "audit --json --since: no failure left");
	CHECK(!a.failed, "so it passes (exit 0)");
	free(text);
	a.strict = true;
	text = run(audit_fn, path, &a, KX_OUT_CSV);
	check_str(text, want_csv_strict, "audit --csv --strict: no traffic on a required rule fails");
	CHECK(a.failed, "--strict fails");
	free(text);
	kx_policy_free(a.p);

	/* Matching details: IPv6 CIDR, /0, port ranges, SNI glob with dots. */
	a.p = policy("required 2001:db8::/33 443 *\nwarn 0.0.0.0/0 8000-9000 *\n"
		     "required 198.51.100.0/25 * *.e*e\nwarn * * *\n");
	a.strict = false;
	a.f = NULL;
	text = run(audit_fn, path, &a, KX_OUT_CSV);
	check_str(text, want_csv_match, "IPv6 rule sees no IPv4; /0 with a port range; glob");
	free(text);
	kx_policy_free(a.p);
}

/* The legs of fill_legs(): plaintext sessions fail a required rule and are
 * the evidence, sessions whose handshake was not seen decide nothing. */
static const char legs_pol[] =
	"required 198.51.100.20/31 * *\n"
	"required 198.51.100.22/31 443 *\n"
	"warn     198.51.100.24 25 *\n"
	"required * * *\n";

static void test_legs(const char *path)
{
	struct audit_arg a = { policy(legs_pol), false, false, NULL };
	char *text;

	if (!a.p)
		exit(1);
	text = run(audit_fn, path, &a, KX_OUT_TABLE);
	check_str(text, want_legs_text, "audit: plaintext fails a required rule, with its evidence");
	CHECK(a.failed, "and the audit fails");
	free(text);
	text = run(audit_fn, path, &a, KX_OUT_JSON);
	check_str(text, want_legs_json, "audit --json: sessions, plaintext, unseen, app evidence");
	free(text);
	text = run(audit_fn, path, &a, KX_OUT_CSV);
	check_str(text, want_legs_csv, "audit --csv: the session columns at the end");
	free(text);
	kx_policy_free(a.p);
}

int main(void)
{
	const char *dir = test_dir();
	char path[512], err[512];
	bool failed = true;
	struct kx_policy *p;
	int rc;

	test_parse();
	snprintf(path, sizeof(path), "%s/audit.db", dir);
	fill(path);
	test_audit(path);
	snprintf(path, sizeof(path), "%s/legs.db", dir);
	fill_legs(path);
	test_legs(path);

	p = kx_policy_load("/nonexistent/policy.txt", err, sizeof(err));
	CHECK(!p && strstr(err, "/nonexistent/policy.txt: No such file"), "missing file: %s", err);
	p = policy("warn * * *\n");
	snprintf(err, sizeof(err), "%s/missing.db", dir);
	rc = kx_report_audit(err, p, NULL, false, KX_OUT_TABLE, stdout, &failed, err, sizeof(err));
	CHECK(rc < 0 && !failed && strstr(err, "No such file"), "missing database: %s", err);
	kx_policy_free(p);

	rm_dir(dir);
	return tap_done();
}
