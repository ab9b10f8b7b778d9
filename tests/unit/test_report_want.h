/* SPDX-License-Identifier: BSD-2-Clause */
/* test_report_want.h: the exact texts test_report.c expects; each was checked
 * by hand against the rows of fill() and fill_more() (and the views). */
static const char want_table[] =
	"SERVER        PORT  SNI                      PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  PLAINTEXT  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"198.51.100.2   443  declined.example         tls             2        2       0   0          2          0      0  x25519                                2025-11-22T10:00:06Z  classical (server-declined)\n"
	"203.0.113.5   8443  -                        tls             1        1       0   0          1          0      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"198.51.100.3   443  draft.example            tls             2        1       1   0          0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"198.51.100.4   443  mixed.example            tls             2        2       1   0          1          0      0  X25519MLKEM768,x25519                 2025-11-22T10:00:10Z  mixed\n"
	"198.51.100.5   443  quiet.example            tls             2        1       0   0          0          0      2  -                                     2025-11-22T10:00:12Z  no-verdict\n"
	"198.51.100.6   443  odd.example              tls             1        1       0   0          0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"198.51.100.1   443  example.com              tls             3        2       2   0          0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"198.51.100.7   443  evil\\x1b[2J,\"x\".example  tls             1        1       1   0          0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n";
static const char want_json[] =
	"[\n"
	"  {\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"sni\":\"declined.example\",\"first_seen\":\"2025-11-22T10:00:05.123456Z\",\"last_seen\":\"2025-11-22T10:00:06.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":2,\"n_client_no_pq\":1,\"n_server_declined\":1,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"x25519\",\"protocols\":\"tls\",\"verdict\":\"classical (server-declined)\",\"risk\":5,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"203.0.113.5\",\"server_port\":8443,\"sni\":null,\"first_seen\":\"2025-11-22T10:00:04.123456Z\",\"last_seen\":\"2025-11-22T10:00:04.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":1,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"secp256r1\",\"protocols\":\"tls\",\"verdict\":\"classical (clients-no-pq)\",\"risk\":4,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.3\",\"server_port\":443,\"sni\":\"draft.example\",\"first_seen\":\"2025-11-22T10:00:07.123456Z\",\"last_seen\":\"2025-11-22T10:00:08.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":1,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519Kyber768Draft00,X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"draft-kyber\",\"risk\":3,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.4\",\"server_port\":443,\"sni\":\"mixed.example\",\"first_seen\":\"2025-11-22T10:00:09.123456Z\",\"last_seen\":\"2025-11-22T10:00:10.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768,x25519\",\"protocols\":\"tls\",\"verdict\":\"mixed\",\"risk\":2,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"sni\":\"quiet.example\",\"first_seen\":\"2025-11-22T10:00:11.123456Z\",\"last_seen\":\"2025-11-22T10:00:12.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":1,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":null,\"protocols\":\"tls\",\"verdict\":\"no-verdict\",\"risk\":1,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.6\",\"server_port\":443,\"sni\":\"odd.example\",\"first_seen\":\"2025-11-22T10:00:13.123456Z\",\"last_seen\":\"2025-11-22T10:00:13.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":1,\"groups_selected\":\"0x1234\",\"protocols\":\"tls\",\"verdict\":\"unknown\",\"risk\":1,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"sni\":\"example.com\",\"first_seen\":\"2025-11-22T10:00:01.123456Z\",\"last_seen\":\"2025-11-22T10:00:03.124456Z\",\"handshakes\":3,\"clients\":2,\"n_hybrid\":2,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"hybrid\",\"risk\":0,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0},\n"
	"  {\"server_ip\":\"198.51.100.7\",\"server_port\":443,\"sni\":\"evil\\u001b[2J,\\\"x\\\".example\",\"first_seen\":\"2025-11-22T10:00:14.123456Z\",\"last_seen\":\"2025-11-22T10:00:14.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"hybrid\",\"risk\":0,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"n_offer_unseen\":0,\"n_no_tls\":0,\"n_starttls_not_offered\":0,\"n_starttls_refused\":0,\"n_ssl_refused\":0,\"apps\":null,\"n_suspect\":0}\n"
	"]\n";
static const char want_csv[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"198.51.100.2,443,declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5,0,0,0,0,0,0,0,0,,0\r\n"
	"203.0.113.5,8443,,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.3,443,draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.4,443,mixed.example,2025-11-22T10:00:09.123456Z,2025-11-22T10:00:10.124456Z,2,2,1,0,0,1,1,0,0,0,0,0,\"X25519MLKEM768,x25519\",tls,mixed,2,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.5,443,quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,no-verdict,1,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.6,443,odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.1,443,example.com,2025-11-22T10:00:01.123456Z,2025-11-22T10:00:03.124456Z,3,2,2,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.7,443,\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_by_sni[] =
	"sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5,0,0,0,0,0,0,0,0,,0\r\n"
	",2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4,0,0,0,0,0,0,0,0,,0\r\n"
	"draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3,0,0,0,0,0,0,0,0,,0\r\n"
	"mixed.example,2025-11-22T10:00:09.123456Z,2025-11-22T10:00:10.124456Z,2,2,1,0,0,1,1,0,0,0,0,0,\"X25519MLKEM768,x25519\",tls,mixed,2,0,0,0,0,0,0,0,0,,0\r\n"
	"quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,no-verdict,1,0,0,0,0,0,0,0,0,,0\r\n"
	"odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1,0,0,0,0,0,0,0,0,,0\r\n"
	"example.com,2025-11-22T10:00:01.123456Z,2025-11-22T10:00:03.124456Z,3,2,2,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n"
	"\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_by_server[] =
	"SERVER        PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  PLAINTEXT  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"198.51.100.2  tls             2        2       0   0          2          0      0  x25519                                2025-11-22T10:00:06Z  classical (server-declined)\n"
	"203.0.113.5   tls             1        1       0   0          1          0      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"198.51.100.3  tls             2        1       1   0          0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"198.51.100.4  tls             2        2       1   0          1          0      0  X25519MLKEM768,x25519                 2025-11-22T10:00:10Z  mixed\n"
	"198.51.100.5  tls             2        1       0   0          0          0      2  -                                     2025-11-22T10:00:12Z  no-verdict\n"
	"198.51.100.6  tls             1        1       0   0          0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"198.51.100.1  tls             3        2       2   0          0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"198.51.100.7  tls             1        1       1   0          0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n";
static const char want_by_pair[] =
	"CLIENT      SERVER        PROTO  HANDSHAKES  HYBRID  PQ  CLASSICAL  PLAINTEXT  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"192.0.2.10  198.51.100.3  tls             2       1   0          0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"192.0.2.10  198.51.100.5  tls             2       0   0          0          0      2  -                                     2025-11-22T10:00:12Z  no-verdict\n"
	"192.0.2.10  198.51.100.1  tls             2       1   0          0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"192.0.2.10  198.51.100.2  tls             1       0   0          1          0      0  x25519                                2025-11-22T10:00:05Z  classical (server-declined)\n"
	"192.0.2.11  198.51.100.2  tls             1       0   0          1          0      0  x25519                                2025-11-22T10:00:06Z  classical (clients-no-pq)\n"
	"192.0.2.11  203.0.113.5   tls             1       0   0          1          0      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"192.0.2.12  198.51.100.4  tls             1       0   0          1          0      0  x25519                                2025-11-22T10:00:10Z  classical (clients-no-pq)\n"
	"192.0.2.10  198.51.100.6  tls             1       0   0          0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"192.0.2.10  198.51.100.4  tls             1       1   0          0          0      0  X25519MLKEM768                        2025-11-22T10:00:09Z  hybrid\n"
	"192.0.2.10  198.51.100.7  tls             1       1   0          0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n"
	"192.0.2.20  198.51.100.1  tls             1       1   0          0          0      0  X25519MLKEM768                        2025-11-22T10:00:02Z  hybrid\n";
static const char want_window[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"198.51.100.2,443,declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5,0,0,0,0,0,0,0,0,,0\r\n"
	"203.0.113.5,8443,,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.3,443,draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.1,443,example.com,2025-11-22T10:00:02.123456Z,2025-11-22T10:00:03.124456Z,2,2,1,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_live[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"198.51.100.5,443,quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,no-verdict,1,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.6,443,odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.7,443,\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_clients_table[] =
	"CLIENT      HANDSHAKES  OFFERS PQ    PQ GROUPS                             SERVERS  CLASSICAL  PLAINTEXT  PROTO  SNI (SAMPLE)                                               ALPN         ML-DSA  FINGERPRINTS  LAST SEEN\n"
	"192.0.2.11           2  none (0/2)   -                                           2          2          0  tls    declined.example                                           h2,http/1.1  no      -             2025-11-22T10:00:06Z\n"
	"192.0.2.12           1  none (0/1)   -                                           1          1          0  tls    mixed.example                                              h2,http/1.1  no      -             2025-11-22T10:00:10Z\n"
	"192.0.2.10          10  all (10/10)  X25519Kyber768Draft00,X25519MLKEM768        7          1          0  tls    declined.example,draft.example,evil\\x1b[2J,\"x\".example +4  h2,http/1.1  no      -             2025-11-22T10:00:14Z\n"
	"192.0.2.20           1  all (1/1)    X25519MLKEM768                              1          0          0  tls    example.com                                                h2,http/1.1  no      -             2025-11-22T10:00:02Z\n";
static const char want_clients_json[] =
	"[\n"
	"  {\"client_ip\":\"192.0.2.11\",\"first_seen\":\"2025-11-22T10:00:04.123456Z\",\"last_seen\":\"2025-11-22T10:00:06.124456Z\",\"handshakes\":2,\"n_hello\":2,\"n_offers_pq\":0,\"n_no_pq\":2,\"offers_pq\":\"none\",\"pq_groups_offered\":null,\"servers\":2,\"protocols\":\"tls\",\"sample_snis\":\"declined.example\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":2,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":1,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":2,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"plaintext_apps\":null,\"offers_mldsa\":\"no\",\"fingerprints\":null},\n"
	"  {\"client_ip\":\"192.0.2.12\",\"first_seen\":\"2025-11-22T10:00:10.123456Z\",\"last_seen\":\"2025-11-22T10:00:10.124456Z\",\"handshakes\":1,\"n_hello\":1,\"n_offers_pq\":0,\"n_no_pq\":1,\"offers_pq\":\"none\",\"pq_groups_offered\":null,\"servers\":1,\"protocols\":\"tls\",\"sample_snis\":\"mixed.example\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":2,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"plaintext_apps\":null,\"offers_mldsa\":\"no\",\"fingerprints\":null},\n"
	"  {\"client_ip\":\"192.0.2.10\",\"first_seen\":\"2025-11-22T10:00:01.123456Z\",\"last_seen\":\"2025-11-22T10:00:14.124456Z\",\"handshakes\":10,\"n_hello\":10,\"n_offers_pq\":10,\"n_no_pq\":0,\"offers_pq\":\"all\",\"pq_groups_offered\":\"X25519Kyber768Draft00,X25519MLKEM768\",\"servers\":7,\"protocols\":\"tls\",\"sample_snis\":\"declined.example,draft.example,evil\\u001b[2J,\\\"x\\\".example +4\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":4,\"n_pq\":0,\"n_hybrid_draft\":1,\"n_classical\":1,\"n_client_no_pq\":0,\"n_server_declined\":1,\"n_tls12\":0,\"n_resumed\":1,\"n_incomplete\":2,\"n_unknown\":1,\"risk\":0,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"plaintext_apps\":null,\"offers_mldsa\":\"no\",\"fingerprints\":null},\n"
	"  {\"client_ip\":\"192.0.2.20\",\"first_seen\":\"2025-11-22T10:00:02.123456Z\",\"last_seen\":\"2025-11-22T10:00:02.124456Z\",\"handshakes\":1,\"n_hello\":1,\"n_offers_pq\":1,\"n_no_pq\":0,\"offers_pq\":\"all\",\"pq_groups_offered\":\"X25519MLKEM768\",\"servers\":1,\"protocols\":\"tls\",\"sample_snis\":\"example.com\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":0,\"sessions\":0,\"n_plaintext\":0,\"n_unseen\":0,\"plaintext_apps\":null,\"offers_mldsa\":\"no\",\"fingerprints\":null}\n"
	"]\n";
static const char want_health_table[] =
	"ClientHellos by size (the largest of a handshake; a hybrid one is 1500 bytes or more):\n"
	"CLIENTHELLO      HANDSHAKES  ANSWERED  NO SERVERHELLO    %  RST  FIN  TIMEOUT  END-OF-CAPTURE  GAP  OTHER  FIRST SEGMENT LOST  HRR  SLOW SH  CAPACITY\n"
	"< 1500                    5         4               1   20    1    0        0               0    0      0                   0    0        0         0\n"
	">= 1500                  16        12               4   25    2    0        1               1    0      0                   0    1        1         0\n"
	"not reassembled           1         0               1  100    0    0        0               0    1      0                   1    0        0         0\n"
	"\n"
	"Hops with ClientHellos left unanswered, answered late, or retried, handshakes not followed, or sessions without a handshake (server IP, port):\n"
	"SERVER        PORT  HANDSHAKES  >=1500 NO-SH  <1500 NO-SH  FIRST SEG LOST  REASONS                         HRR  SLOW SH  CAPACITY  PLAINTEXT  HS UNSEEN  SNI (SAMPLE)\n"
	"198.51.100.1   443           8  3/6           0/1                       1  end-of-capture,gap,rst,timeout    0        1         0          0          0  example.com\n"
	"198.51.100.5   443           2  1/2           0/0                       0  rst                               0        0         0          0          0  quiet.example\n"
	"198.51.100.2   443           3  0/1           1/2                       0  rst                               0        0         0          0          0  declined.example\n"
	"2001:db8::1    443           1  0/1           0/0                       0  -                                 1        0         0          0          0  hrr.example\n"
	"\n"
	"Findings:\n"
	"  error    198.51.100.1:443: 1 ClientHello whose first segment never reached the sensor (incomplete/gap, only later segments seen): the first, full-size segment was dropped before the capture point, likely an MTU or middlebox drop\n"
	"  warning  198.51.100.1:443: 3 of 6 ClientHellos of 1500 bytes or more got no ServerHello (end-of-capture,rst,timeout), against 0 of 1 smaller one: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\n"
	"  warning  198.51.100.1:443: 1 ServerHello came 1 s or more after the ClientHello (slowest 1250 ms): a lost and retransmitted ClientHello segment (initial RTO 1 s) or a slow server\n"
	"  warning  198.51.100.5:443: 1 of 2 ClientHellos of 1500 bytes or more got no ServerHello (rst), against 0 of 0 smaller ones: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\n"
	"  warning  198.51.100.2:443: 1 ClientHello got no ServerHello (rst), large ones no more often than small ones: not a size problem, look at the server or the path\n"
	"  info     [2001:db8::1]:443: 1 handshake needed a HelloRetryRequest (one more round trip): the server asked for X25519MLKEM768, which the client supported without sending a key share for it\n"
	"\n"
	"Capture runs behind these handshakes: 2; segments entirely retransmitted 0, out-of-order segments 0, packets dropped by the capture 0 (all flows: per-handshake retransmissions are not recorded)\n"
	"Flows of these runs: 0 seen = 0 handshake rows + 0 capacity rows + 0 plaintext + 0 handshake unseen + 0 one-sided + 0 no payload + 0 not recorded (--plaintext) + 0 unrecognised + 0 still open + 0 refused (table full)\n";
static const char want_health_json[] =
	"{\"bands\":[\n"
	"  {\"band\":\"< 1500\",\"handshakes\":5,\"answered\":4,\"no_server_hello\":1,\"n_rst\":1,\"n_fin\":0,\"n_timeout\":0,\"n_end_of_capture\":0,\"n_gap\":0,\"n_other\":0,\"n_first_segment_lost\":0,\"n_hrr\":0,\"n_slow\":0,\"pct_no_server_hello\":20,\"n_capacity\":0},\n"
	"  {\"band\":\">= 1500\",\"handshakes\":16,\"answered\":12,\"no_server_hello\":4,\"n_rst\":2,\"n_fin\":0,\"n_timeout\":1,\"n_end_of_capture\":1,\"n_gap\":0,\"n_other\":0,\"n_first_segment_lost\":0,\"n_hrr\":1,\"n_slow\":1,\"pct_no_server_hello\":25,\"n_capacity\":0},\n"
	"  {\"band\":\"not reassembled\",\"handshakes\":1,\"answered\":0,\"no_server_hello\":1,\"n_rst\":0,\"n_fin\":0,\"n_timeout\":0,\"n_end_of_capture\":0,\"n_gap\":1,\"n_other\":0,\"n_first_segment_lost\":1,\"n_hrr\":0,\"n_slow\":0,\"pct_no_server_hello\":100,\"n_capacity\":0}\n"
	"]\n"
	",\"hops\":[\n"
	"  {\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"handshakes\":8,\"n_small\":1,\"n_small_no_sh\":0,\"n_large\":6,\"n_large_no_sh\":3,\"n_first_segment_lost\":1,\"no_server_hello\":4,\"reasons\":\"end-of-capture,gap,rst,timeout\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":1,\"max_ch_to_sh_us\":1250000,\"sample_snis\":\"example.com\",\"last_seen\":\"2025-11-22T11:00:21.373456Z\",\"large_reasons\":\"end-of-capture,rst,timeout\",\"other_reasons\":\"gap\",\"n_capacity\":0,\"n_plaintext\":0,\"plaintext_apps\":null,\"plaintext_reasons\":null,\"n_unseen\":0,\"unseen_apps\":null},\n"
	"  {\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"handshakes\":2,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":2,\"n_large_no_sh\":1,\"n_first_segment_lost\":0,\"no_server_hello\":1,\"reasons\":\"rst\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":12345,\"sample_snis\":\"quiet.example\",\"last_seen\":\"2025-11-22T10:00:12.124456Z\",\"large_reasons\":\"rst\",\"other_reasons\":null,\"n_capacity\":0,\"n_plaintext\":0,\"plaintext_apps\":null,\"plaintext_reasons\":null,\"n_unseen\":0,\"unseen_apps\":null},\n"
	"  {\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"handshakes\":3,\"n_small\":2,\"n_small_no_sh\":1,\"n_large\":1,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":1,\"reasons\":\"rst\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":12345,\"sample_snis\":\"declined.example\",\"last_seen\":\"2025-11-22T11:00:05.124456Z\",\"large_reasons\":null,\"other_reasons\":\"rst\",\"n_capacity\":0,\"n_plaintext\":0,\"plaintext_apps\":null,\"plaintext_reasons\":null,\"n_unseen\":0,\"unseen_apps\":null},\n"
	"  {\"server_ip\":\"2001:db8::1\",\"server_port\":443,\"handshakes\":1,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":1,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":0,\"reasons\":null,\"n_hrr\":1,\"hrr_groups\":\"X25519MLKEM768\",\"n_slow\":0,\"max_ch_to_sh_us\":30000,\"sample_snis\":\"hrr.example\",\"last_seen\":\"2025-11-22T11:00:40.153456Z\",\"large_reasons\":null,\"other_reasons\":null,\"n_capacity\":0,\"n_plaintext\":0,\"plaintext_apps\":null,\"plaintext_reasons\":null,\"n_unseen\":0,\"unseen_apps\":null}\n"
	"]\n"
	",\"findings\":[\n"
	"  {\"severity\":\"error\",\"kind\":\"first-segment-lost\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.1:443: 1 ClientHello whose first segment never reached the sensor (incomplete/gap, only later segments seen): the first, full-size segment was dropped before the capture point, likely an MTU or middlebox drop\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"large-clienthello-unanswered\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":3,\"text\":\"198.51.100.1:443: 3 of 6 ClientHellos of 1500 bytes or more got no ServerHello (end-of-capture,rst,timeout), against 0 of 1 smaller one: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"slow-server-hello\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.1:443: 1 ServerHello came 1 s or more after the ClientHello (slowest 1250 ms): a lost and retransmitted ClientHello segment (initial RTO 1 s) or a slow server\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"large-clienthello-unanswered\",\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.5:443: 1 of 2 ClientHellos of 1500 bytes or more got no ServerHello (rst), against 0 of 0 smaller ones: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"clienthello-unanswered\",\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.2:443: 1 ClientHello got no ServerHello (rst), large ones no more often than small ones: not a size problem, look at the server or the path\"},\n"
	"  {\"severity\":\"info\",\"kind\":\"hello-retry-request\",\"server_ip\":\"2001:db8::1\",\"server_port\":443,\"count\":1,\"text\":\"[2001:db8::1]:443: 1 handshake needed a HelloRetryRequest (one more round trip): the server asked for X25519MLKEM768, which the client supported without sending a key share for it\"}\n"
	"],\n"
	"\"runs\":{\"runs\":2,\"reasm_retransmits\":0,\"reasm_ooo_segments\":0,\"capture_dropped\":0,\"unfinished\":0,\"flows\":{\"runs\":2,\"seen\":0,\"handshake_rows\":0,\"capacity_rows\":0,\"plaintext\":0,\"handshake_unseen\":0,\"one_sided\":0,\"no_payload\":0,\"not_recorded\":0,\"unrecognised\":0,\"still_open\":0,\"refused\":0}}}\n";
static const char want_health_csv_s[] =
	"server_ip,server_port,handshakes,n_small,n_small_no_sh,n_large,n_large_no_sh,n_first_segment_lost,no_server_hello,reasons,n_hrr,hrr_groups,n_slow,max_ch_to_sh_us,sample_snis,last_seen,large_reasons,other_reasons,n_capacity,n_plaintext,plaintext_apps,plaintext_reasons,n_unseen,unseen_apps\r\n"
	"198.51.100.1,443,3,0,0,3,1,0,1,rst,0,,0,12345,example.com,2025-11-22T10:00:03.124456Z,rst,,0,0,,,0,\r\n"
	"198.51.100.5,443,2,0,0,2,1,0,1,rst,0,,0,12345,quiet.example,2025-11-22T10:00:12.124456Z,rst,,0,0,,,0,\r\n";
static const char want_legs_view[] =
	"198.51.100.24|25|NULL|2025-11-22T12:00:07.123456Z|2025-11-22T12:00:08.623456Z|1|1|1|0|0|0|0|0|0|0|0|0|X25519MLKEM768|plaintext|6|1|1|0|0|0|1|0|0|smtp\n"
	"198.51.100.20|5432|NULL|2025-11-22T12:00:01.123456Z|2025-11-22T12:00:02.623456Z|0|1|0|0|0|0|0|0|0|0|0|0|NULL|plaintext|6|2|2|0|0|0|0|0|2|postgresql\n"
	"198.51.100.21|80|NULL|2025-11-22T12:00:03.123456Z|2025-11-22T12:00:03.623456Z|0|1|0|0|0|0|0|0|0|0|0|0|NULL|plaintext|6|1|1|0|0|1|0|0|0|http\n"
	"198.51.100.25|443|NULL|2025-11-22T12:00:09.123456Z|2025-11-22T12:00:09.124456Z|1|1|0|0|0|1|0|0|0|0|0|0|x25519|classical (offer-unseen)|4|0|0|0|1|0|0|0|0|NULL\n"
	"198.51.100.27|443|NULL|2025-11-22T12:00:11.123456Z|2025-11-22T12:00:11.124456Z|1|1|0|0|0|0|0|0|0|0|1|0|NULL|no-verdict|1|0|0|0|0|0|0|0|0|NULL\n"
	"198.51.100.22|443|NULL|2025-11-22T12:00:04.123456Z|2025-11-22T12:00:04.624456Z|0|2|0|0|0|0|0|0|0|0|0|0|NULL|no-verdict (not observed)|1|3|0|3|0|0|0|0|0|tls\n"
	"198.51.100.23|443|NULL|2025-11-22T12:00:05.123456Z|2025-11-22T12:00:06.623456Z|1|1|1|0|0|0|0|0|0|0|0|0|X25519MLKEM768|hybrid|0|1|0|1|0|0|0|0|0|tls\n"
	"198.51.100.26|443|NULL|2025-11-22T12:00:10.123456Z|2025-11-22T12:00:10.124456Z|1|1|1|0|0|0|0|0|0|0|0|0|X25519MLKEM768|hybrid|0|0|0|0|0|0|0|0|0|NULL";
static const char want_legs_table[] =
	"SERVER         PORT  SNI  PROTO       HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  PLAINTEXT  OTHER  GROUPS          LAST SEEN             VERDICT\n"
	"198.51.100.24    25  -    smtp,tls             1        1       1   0          0          1      0  X25519MLKEM768  2025-11-22T12:00:08Z  plaintext\n"
	"198.51.100.20  5432  -    postgresql           0        1       0   0          0          2      0  -               2025-11-22T12:00:02Z  plaintext\n"
	"198.51.100.21    80  -    http                 0        1       0   0          0          1      0  -               2025-11-22T12:00:03Z  plaintext\n"
	"198.51.100.25   443  -    tls                  1        1       0   0          1          0      0  x25519          2025-11-22T12:00:09Z  classical (offer-unseen)\n"
	"198.51.100.27   443  -    tls                  1        1       0   0          0          0      1  -               2025-11-22T12:00:11Z  no-verdict\n"
	"198.51.100.22   443  -    tls                  0        2       0   0          0          0      3  -               2025-11-22T12:00:04Z  no-verdict (not observed)\n"
	"198.51.100.23   443  -    tls                  1        1       1   0          0          0      1  X25519MLKEM768  2025-11-22T12:00:06Z  hybrid\n"
	"198.51.100.26   443  -    tls                  1        1       1   0          0          0      0  X25519MLKEM768  2025-11-22T12:00:10Z  hybrid\n";
static const char want_legs_csv[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"198.51.100.24,25,,2025-11-22T12:00:07.123456Z,2025-11-22T12:00:08.623456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,\"smtp,tls\",plaintext,6,1,1,0,0,0,1,0,0,smtp,0\r\n"
	"198.51.100.20,5432,,2025-11-22T12:00:01.123456Z,2025-11-22T12:00:02.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,postgresql,plaintext,6,2,2,0,0,0,0,0,2,postgresql,0\r\n"
	"198.51.100.21,80,,2025-11-22T12:00:03.123456Z,2025-11-22T12:00:03.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,http,plaintext,6,1,1,0,0,1,0,0,0,http,0\r\n"
	"198.51.100.25,443,,2025-11-22T12:00:09.123456Z,2025-11-22T12:00:09.124456Z,1,1,0,0,0,1,0,0,0,0,0,0,x25519,tls,classical (offer-unseen),4,0,0,0,1,0,0,0,0,,0\r\n"
	"198.51.100.27,443,,2025-11-22T12:00:11.123456Z,2025-11-22T12:00:11.124456Z,1,1,0,0,0,0,0,0,0,0,1,0,,tls,no-verdict,1,0,0,0,0,0,0,0,0,,0\r\n"
	"198.51.100.22,443,,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:04.624456Z,0,2,0,0,0,0,0,0,0,0,0,0,,tls,no-verdict (not observed),1,3,0,3,0,0,0,0,0,tls,0\r\n"
	"198.51.100.23,443,,2025-11-22T12:00:05.123456Z,2025-11-22T12:00:06.623456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,1,0,1,0,0,0,0,0,tls,0\r\n"
	"198.51.100.26,443,,2025-11-22T12:00:10.123456Z,2025-11-22T12:00:10.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_legs_pairs[] =
	"client_ip,server_ip,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"192.0.2.33,198.51.100.24,2025-11-22T12:00:07.123456Z,2025-11-22T12:00:08.623456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,\"smtp,tls\",plaintext,6,1,1,0,0,0,1,0,0,smtp,0\r\n"
	"192.0.2.30,198.51.100.20,2025-11-22T12:00:01.123456Z,2025-11-22T12:00:02.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,postgresql,plaintext,6,2,2,0,0,0,0,0,2,postgresql,0\r\n"
	"192.0.2.30,198.51.100.21,2025-11-22T12:00:03.123456Z,2025-11-22T12:00:03.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,http,plaintext,6,1,1,0,0,1,0,0,0,http,0\r\n"
	"192.0.2.34,198.51.100.25,2025-11-22T12:00:09.123456Z,2025-11-22T12:00:09.124456Z,1,1,0,0,0,1,0,0,0,0,0,0,x25519,tls,classical (offer-unseen),4,0,0,0,1,0,0,0,0,,0\r\n"
	"192.0.2.35,198.51.100.27,2025-11-22T12:00:11.123456Z,2025-11-22T12:00:11.124456Z,1,1,0,0,0,0,0,0,0,0,1,0,,tls,no-verdict,1,0,0,0,0,0,0,0,0,,0\r\n"
	"192.0.2.31,198.51.100.22,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:04.624456Z,0,1,0,0,0,0,0,0,0,0,0,0,,tls,no-verdict (not observed),1,2,0,2,0,0,0,0,0,tls,0\r\n"
	"192.0.2.32,198.51.100.22,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:04.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,tls,no-verdict (not observed),1,1,0,1,0,0,0,0,0,tls,0\r\n"
	"192.0.2.32,198.51.100.23,2025-11-22T12:00:05.123456Z,2025-11-22T12:00:06.623456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,1,0,1,0,0,0,0,0,tls,0\r\n"
	"192.0.2.34,198.51.100.26,2025-11-22T12:00:10.123456Z,2025-11-22T12:00:10.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0,0,0,0,0,0,0,0,0,,0\r\n";
static const char want_legs_window[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk,sessions,n_plaintext,n_unseen,n_offer_unseen,n_no_tls,n_starttls_not_offered,n_starttls_refused,n_ssl_refused,apps,n_suspect\r\n"
	"198.51.100.21,80,,2025-11-22T12:00:03.123456Z,2025-11-22T12:00:03.623456Z,0,1,0,0,0,0,0,0,0,0,0,0,,http,plaintext,6,1,1,0,0,1,0,0,0,http,0\r\n"
	"198.51.100.22,443,,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:04.624456Z,0,2,0,0,0,0,0,0,0,0,0,0,,tls,no-verdict (not observed),1,3,0,3,0,0,0,0,0,tls,0\r\n";
static const char want_legs_clients[] =
	"CLIENT      HANDSHAKES  OFFERS PQ       PQ GROUPS       SERVERS  CLASSICAL  PLAINTEXT  PROTO            SNI (SAMPLE)  ALPN         ML-DSA        FINGERPRINTS  LAST SEEN\n"
	"192.0.2.30           0  no-hello (0/0)  -                     2          0          3  http,postgresql  -             -            not-recorded  -             2025-11-22T12:00:03Z\n"
	"192.0.2.33           1  all (1/1)       X25519MLKEM768        1          0          1  smtp,tls         -             h2,http/1.1  no            -             2025-11-22T12:00:08Z\n"
	"192.0.2.34           2  no-hello (0/0)  -                     2          1          0  tls              -             -            no            -             2025-11-22T12:00:10Z\n"
	"192.0.2.32           1  all (1/1)       X25519MLKEM768        2          0          0  tls              -             h2,http/1.1  no            -             2025-11-22T12:00:06Z\n"
	"192.0.2.35           1  no-hello (0/0)  -                     1          0          0  tls              -             -            no            -             2025-11-22T12:00:11Z\n"
	"192.0.2.31           0  no-hello (0/0)  -                     1          0          0  tls              -             -            not-recorded  -             2025-11-22T12:00:04Z\n";
static const char want_legs_clients_csv[] =
	"client_ip,first_seen,last_seen,handshakes,n_hello,n_offers_pq,n_no_pq,offers_pq,pq_groups_offered,servers,protocols,sample_snis,sample_alpns,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,risk,sessions,n_plaintext,n_unseen,plaintext_apps,offers_mldsa,fingerprints\r\n"
	"192.0.2.30,2025-11-22T12:00:01.123456Z,2025-11-22T12:00:03.623456Z,0,0,0,0,no-hello,,2,\"http,postgresql\",,,0,0,0,0,0,0,0,0,0,0,3,3,3,0,\"http,postgresql\",not-recorded,\r\n"
	"192.0.2.33,2025-11-22T12:00:07.123456Z,2025-11-22T12:00:08.623456Z,1,1,1,0,all,X25519MLKEM768,1,\"smtp,tls\",,\"h2,http/1.1\",1,0,0,0,0,0,0,0,0,0,3,1,1,0,smtp,no,\r\n"
	"192.0.2.34,2025-11-22T12:00:09.123456Z,2025-11-22T12:00:10.124456Z,2,0,0,0,no-hello,,2,tls,,,1,0,0,1,0,0,0,0,0,0,0,0,0,0,,no,\r\n"
	"192.0.2.32,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:06.623456Z,1,1,1,0,all,X25519MLKEM768,2,tls,,\"h2,http/1.1\",1,0,0,0,0,0,0,0,0,0,0,2,0,2,,no,\r\n"
	"192.0.2.35,2025-11-22T12:00:11.123456Z,2025-11-22T12:00:11.124456Z,1,0,0,0,no-hello,,1,tls,,,0,0,0,0,0,0,0,0,1,0,0,0,0,0,,no,\r\n"
	"192.0.2.31,2025-11-22T12:00:04.123456Z,2025-11-22T12:00:04.624456Z,0,0,0,0,no-hello,,1,tls,,,0,0,0,0,0,0,0,0,0,0,0,2,0,2,,not-recorded,\r\n";
static const char want_legs_health[] =
	"ClientHellos by size (the largest of a handshake; a hybrid one is 1500 bytes or more):\n"
	"CLIENTHELLO      HANDSHAKES  ANSWERED  NO SERVERHELLO  %  RST  FIN  TIMEOUT  END-OF-CAPTURE  GAP  OTHER  FIRST SEGMENT LOST  HRR  SLOW SH  CAPACITY\n"
	">= 1500                   2         2               0  0    0    0        0               0    0      0                   0    0        0         0\n"
	"not reassembled           3         2               0  0    0    0        0               0    0      0                   0    0        0         1\n"
	"\n"
	"Hops with ClientHellos left unanswered, answered late, or retried, handshakes not followed, or sessions without a handshake (server IP, port):\n"
	"SERVER         PORT  HANDSHAKES  >=1500 NO-SH  <1500 NO-SH  FIRST SEG LOST  REASONS  HRR  SLOW SH  CAPACITY  PLAINTEXT  HS UNSEEN  SNI (SAMPLE)\n"
	"198.51.100.20  5432           0  0/0           0/0                       0  -          0        0         0          2          0  -\n"
	"198.51.100.21    80           0  0/0           0/0                       0  -          0        0         0          1          0  -\n"
	"198.51.100.24    25           1  0/1           0/0                       0  -          0        0         0          1          0  -\n"
	"198.51.100.27   443           1  0/0           0/0                       0  -          0        0         1          0          0  -\n"
	"198.51.100.22   443           0  0/0           0/0                       0  -          0        0         0          0          3  -\n"
	"198.51.100.23   443           1  0/1           0/0                       0  -          0        0         0          0          1  -\n"
	"\n"
	"Findings:\n"
	"  error    198.51.100.20:5432: 2 sessions carried application data without any encryption (postgresql; ssl-refused): no key exchange protects them, classical or post-quantum; enable TLS on this service and require it\n"
	"  error    198.51.100.21:80: 1 session carried application data without any encryption (http; no-tls): no key exchange protects them, classical or post-quantum; enable TLS on this service and require it\n"
	"  error    198.51.100.24:25: 1 session carried application data without any encryption (smtp; starttls-not-offered): no key exchange protects them, classical or post-quantum; enable TLS on this service and require it\n"
	"  warning  198.51.100.27:443: 1 handshake not followed because --max-handshakes or --memcap was reached (incomplete/capacity): their key exchange is not known; raise the limit\n"
	"  info     198.51.100.22:443: 3 encrypted sessions (tls) whose handshake was not captured (it began before the capture did): key exchange not observed\n"
	"  info     198.51.100.23:443: 1 encrypted session (tls) whose handshake was not captured (it began before the capture did): key exchange not observed\n"
	"\n"
	"Capture runs behind these handshakes: 1; segments entirely retransmitted 0, out-of-order segments 0, packets dropped by the capture 0 (all flows: per-handshake retransmissions are not recorded)\n"
	"Flows of these runs: 20 seen = 4 handshake rows + 1 capacity rows + 4 plaintext + 4 handshake unseen + 2 one-sided + 3 no payload + 0 not recorded (--plaintext) + 0 unrecognised + 1 still open + 1 refused (table full)\n";
static const char want_legs_health_json[] =
	"{\"bands\":[]\n"
	",\"hops\":[\n"
	"  {\"server_ip\":\"198.51.100.20\",\"server_port\":5432,\"handshakes\":0,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":0,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":0,\"reasons\":null,\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":null,\"sample_snis\":null,\"last_seen\":\"2025-11-22T12:00:02.623456Z\",\"large_reasons\":null,\"other_reasons\":null,\"n_capacity\":0,\"n_plaintext\":2,\"plaintext_apps\":\"postgresql\",\"plaintext_reasons\":\"ssl-refused\",\"n_unseen\":0,\"unseen_apps\":null},\n"
	"  {\"server_ip\":\"198.51.100.21\",\"server_port\":80,\"handshakes\":0,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":0,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":0,\"reasons\":null,\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":null,\"sample_snis\":null,\"last_seen\":\"2025-11-22T12:00:03.623456Z\",\"large_reasons\":null,\"other_reasons\":null,\"n_capacity\":0,\"n_plaintext\":1,\"plaintext_apps\":\"http\",\"plaintext_reasons\":\"no-tls\",\"n_unseen\":0,\"unseen_apps\":null}\n"
	"]\n"
	",\"findings\":[\n"
	"  {\"severity\":\"error\",\"kind\":\"plaintext\",\"server_ip\":\"198.51.100.20\",\"server_port\":5432,\"count\":2,\"text\":\"198.51.100.20:5432: 2 sessions carried application data without any encryption (postgresql; ssl-refused): no key exchange protects them, classical or post-quantum; enable TLS on this service and require it\"},\n"
	"  {\"severity\":\"error\",\"kind\":\"plaintext\",\"server_ip\":\"198.51.100.21\",\"server_port\":80,\"count\":1,\"text\":\"198.51.100.21:80: 1 session carried application data without any encryption (http; no-tls): no key exchange protects them, classical or post-quantum; enable TLS on this service and require it\"}\n"
	"],\n"
	"\"runs\":{\"runs\":1,\"reasm_retransmits\":0,\"reasm_ooo_segments\":0,\"capture_dropped\":0,\"unfinished\":0,\"flows\":{\"runs\":1,\"seen\":20,\"handshake_rows\":4,\"capacity_rows\":1,\"plaintext\":4,\"handshake_unseen\":4,\"one_sided\":2,\"no_payload\":3,\"not_recorded\":0,\"unrecognised\":0,\"still_open\":1,\"refused\":1}}}\n";
