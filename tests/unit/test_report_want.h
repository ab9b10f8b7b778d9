/* test_report_want.h: the exact texts test_report.c expects; each was checked
 * by hand against the rows of fill() and fill_more() (and the views). */
static const char want_table[] =
	"SERVER        PORT  SNI                      PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"198.51.100.2   443  declined.example         tls             2        2       0   0          2      0  x25519                                2025-11-22T10:00:06Z  classical (server-declined)\n"
	"203.0.113.5   8443  -                        tls             1        1       0   0          1      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"198.51.100.3   443  draft.example            tls             2        1       1   0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"198.51.100.4   443  mixed.example            tls             2        2       1   0          1      0  X25519MLKEM768,x25519                 2025-11-22T10:00:10Z  mixed\n"
	"198.51.100.5   443  quiet.example            tls             2        1       0   0          0      2  -                                     2025-11-22T10:00:12Z  unknown\n"
	"198.51.100.6   443  odd.example              tls             1        1       0   0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"198.51.100.1   443  example.com              tls             3        2       2   0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"198.51.100.7   443  evil\\x1b[2J,\"x\".example  tls             1        1       1   0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n";
static const char want_json[] =
	"[\n"
	"  {\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"sni\":\"declined.example\",\"first_seen\":\"2025-11-22T10:00:05.123456Z\",\"last_seen\":\"2025-11-22T10:00:06.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":2,\"n_client_no_pq\":1,\"n_server_declined\":1,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"x25519\",\"protocols\":\"tls\",\"verdict\":\"classical (server-declined)\",\"risk\":5},\n"
	"  {\"server_ip\":\"203.0.113.5\",\"server_port\":8443,\"sni\":null,\"first_seen\":\"2025-11-22T10:00:04.123456Z\",\"last_seen\":\"2025-11-22T10:00:04.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":1,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"secp256r1\",\"protocols\":\"tls\",\"verdict\":\"classical (clients-no-pq)\",\"risk\":4},\n"
	"  {\"server_ip\":\"198.51.100.3\",\"server_port\":443,\"sni\":\"draft.example\",\"first_seen\":\"2025-11-22T10:00:07.123456Z\",\"last_seen\":\"2025-11-22T10:00:08.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":1,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519Kyber768Draft00,X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"draft-kyber\",\"risk\":3},\n"
	"  {\"server_ip\":\"198.51.100.4\",\"server_port\":443,\"sni\":\"mixed.example\",\"first_seen\":\"2025-11-22T10:00:09.123456Z\",\"last_seen\":\"2025-11-22T10:00:10.124456Z\",\"handshakes\":2,\"clients\":2,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768,x25519\",\"protocols\":\"tls\",\"verdict\":\"mixed\",\"risk\":2},\n"
	"  {\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"sni\":\"quiet.example\",\"first_seen\":\"2025-11-22T10:00:11.123456Z\",\"last_seen\":\"2025-11-22T10:00:12.124456Z\",\"handshakes\":2,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":1,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":null,\"protocols\":\"tls\",\"verdict\":\"unknown\",\"risk\":1},\n"
	"  {\"server_ip\":\"198.51.100.6\",\"server_port\":443,\"sni\":\"odd.example\",\"first_seen\":\"2025-11-22T10:00:13.123456Z\",\"last_seen\":\"2025-11-22T10:00:13.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":1,\"groups_selected\":\"0x1234\",\"protocols\":\"tls\",\"verdict\":\"unknown\",\"risk\":1},\n"
	"  {\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"sni\":\"example.com\",\"first_seen\":\"2025-11-22T10:00:01.123456Z\",\"last_seen\":\"2025-11-22T10:00:03.124456Z\",\"handshakes\":3,\"clients\":2,\"n_hybrid\":2,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":1,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"hybrid\",\"risk\":0},\n"
	"  {\"server_ip\":\"198.51.100.7\",\"server_port\":443,\"sni\":\"evil\\u001b[2J,\\\"x\\\".example\",\"first_seen\":\"2025-11-22T10:00:14.123456Z\",\"last_seen\":\"2025-11-22T10:00:14.124456Z\",\"handshakes\":1,\"clients\":1,\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"groups_selected\":\"X25519MLKEM768\",\"protocols\":\"tls\",\"verdict\":\"hybrid\",\"risk\":0}\n"
	"]\n";
static const char want_csv[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk\r\n"
	"198.51.100.2,443,declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5\r\n"
	"203.0.113.5,8443,,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4\r\n"
	"198.51.100.3,443,draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3\r\n"
	"198.51.100.4,443,mixed.example,2025-11-22T10:00:09.123456Z,2025-11-22T10:00:10.124456Z,2,2,1,0,0,1,1,0,0,0,0,0,\"X25519MLKEM768,x25519\",tls,mixed,2\r\n"
	"198.51.100.5,443,quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,unknown,1\r\n"
	"198.51.100.6,443,odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1\r\n"
	"198.51.100.1,443,example.com,2025-11-22T10:00:01.123456Z,2025-11-22T10:00:03.124456Z,3,2,2,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0\r\n"
	"198.51.100.7,443,\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0\r\n";
static const char want_by_sni[] =
	"sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk\r\n"
	"declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5\r\n"
	",2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4\r\n"
	"draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3\r\n"
	"mixed.example,2025-11-22T10:00:09.123456Z,2025-11-22T10:00:10.124456Z,2,2,1,0,0,1,1,0,0,0,0,0,\"X25519MLKEM768,x25519\",tls,mixed,2\r\n"
	"quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,unknown,1\r\n"
	"odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1\r\n"
	"example.com,2025-11-22T10:00:01.123456Z,2025-11-22T10:00:03.124456Z,3,2,2,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0\r\n"
	"\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0\r\n";
static const char want_by_server[] =
	"SERVER        PROTO  HANDSHAKES  CLIENTS  HYBRID  PQ  CLASSICAL  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"198.51.100.2  tls             2        2       0   0          2      0  x25519                                2025-11-22T10:00:06Z  classical (server-declined)\n"
	"203.0.113.5   tls             1        1       0   0          1      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"198.51.100.3  tls             2        1       1   0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"198.51.100.4  tls             2        2       1   0          1      0  X25519MLKEM768,x25519                 2025-11-22T10:00:10Z  mixed\n"
	"198.51.100.5  tls             2        1       0   0          0      2  -                                     2025-11-22T10:00:12Z  unknown\n"
	"198.51.100.6  tls             1        1       0   0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"198.51.100.1  tls             3        2       2   0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"198.51.100.7  tls             1        1       1   0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n";
static const char want_by_pair[] =
	"CLIENT      SERVER        PROTO  HANDSHAKES  HYBRID  PQ  CLASSICAL  OTHER  GROUPS                                LAST SEEN             VERDICT\n"
	"192.0.2.10  198.51.100.3  tls             2       1   0          0      1  X25519Kyber768Draft00,X25519MLKEM768  2025-11-22T10:00:08Z  draft-kyber\n"
	"192.0.2.10  198.51.100.5  tls             2       0   0          0      2  -                                     2025-11-22T10:00:12Z  unknown\n"
	"192.0.2.10  198.51.100.1  tls             2       1   0          0      1  X25519MLKEM768                        2025-11-22T10:00:03Z  hybrid\n"
	"192.0.2.10  198.51.100.2  tls             1       0   0          1      0  x25519                                2025-11-22T10:00:05Z  classical (server-declined)\n"
	"192.0.2.11  198.51.100.2  tls             1       0   0          1      0  x25519                                2025-11-22T10:00:06Z  classical (clients-no-pq)\n"
	"192.0.2.11  203.0.113.5   tls             1       0   0          1      0  secp256r1                             2025-11-22T10:00:04Z  classical (clients-no-pq)\n"
	"192.0.2.12  198.51.100.4  tls             1       0   0          1      0  x25519                                2025-11-22T10:00:10Z  classical (clients-no-pq)\n"
	"192.0.2.10  198.51.100.6  tls             1       0   0          0      1  0x1234                                2025-11-22T10:00:13Z  unknown\n"
	"192.0.2.10  198.51.100.4  tls             1       1   0          0      0  X25519MLKEM768                        2025-11-22T10:00:09Z  hybrid\n"
	"192.0.2.10  198.51.100.7  tls             1       1   0          0      0  X25519MLKEM768                        2025-11-22T10:00:14Z  hybrid\n"
	"192.0.2.20  198.51.100.1  tls             1       1   0          0      0  X25519MLKEM768                        2025-11-22T10:00:02Z  hybrid\n";
static const char want_window[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk\r\n"
	"198.51.100.2,443,declined.example,2025-11-22T10:00:05.123456Z,2025-11-22T10:00:06.124456Z,2,2,0,0,0,2,1,1,0,0,0,0,x25519,tls,classical (server-declined),5\r\n"
	"203.0.113.5,8443,,2025-11-22T10:00:04.123456Z,2025-11-22T10:00:04.124456Z,1,1,0,0,0,1,0,0,1,0,0,0,secp256r1,tls,classical (clients-no-pq),4\r\n"
	"198.51.100.3,443,draft.example,2025-11-22T10:00:07.123456Z,2025-11-22T10:00:08.124456Z,2,1,1,0,1,0,0,0,0,0,0,0,\"X25519Kyber768Draft00,X25519MLKEM768\",tls,draft-kyber,3\r\n"
	"198.51.100.1,443,example.com,2025-11-22T10:00:02.123456Z,2025-11-22T10:00:03.124456Z,2,2,1,0,0,0,0,0,0,0,1,0,X25519MLKEM768,tls,hybrid,0\r\n";
static const char want_live[] =
	"server_ip,server_port,sni,first_seen,last_seen,handshakes,clients,n_hybrid,n_pq,n_hybrid_draft,n_classical,n_client_no_pq,n_server_declined,n_tls12,n_resumed,n_incomplete,n_unknown,groups_selected,protocols,verdict,risk\r\n"
	"198.51.100.5,443,quiet.example,2025-11-22T10:00:11.123456Z,2025-11-22T10:00:12.124456Z,2,1,0,0,0,0,0,0,0,1,1,0,,tls,unknown,1\r\n"
	"198.51.100.6,443,odd.example,2025-11-22T10:00:13.123456Z,2025-11-22T10:00:13.124456Z,1,1,0,0,0,0,0,0,0,0,0,1,0x1234,tls,unknown,1\r\n"
	"198.51.100.7,443,\"evil\x1b""[2J,\"\"x\"\".example\",2025-11-22T10:00:14.123456Z,2025-11-22T10:00:14.124456Z,1,1,1,0,0,0,0,0,0,0,0,0,X25519MLKEM768,tls,hybrid,0\r\n";
static const char want_clients_table[] =
	"CLIENT      HANDSHAKES  OFFERS PQ    PQ GROUPS                             SERVERS  CLASSICAL  PROTO  SNI (SAMPLE)                                               ALPN         LAST SEEN\n"
	"192.0.2.11           2  none (0/2)   -                                           2          2  tls    declined.example                                           h2,http/1.1  2025-11-22T10:00:06Z\n"
	"192.0.2.12           1  none (0/1)   -                                           1          1  tls    mixed.example                                              h2,http/1.1  2025-11-22T10:00:10Z\n"
	"192.0.2.10          10  all (10/10)  X25519Kyber768Draft00,X25519MLKEM768        7          1  tls    declined.example,draft.example,evil\\x1b[2J,\"x\".example +4  h2,http/1.1  2025-11-22T10:00:14Z\n"
	"192.0.2.20           1  all (1/1)    X25519MLKEM768                              1          0  tls    example.com                                                h2,http/1.1  2025-11-22T10:00:02Z\n";
static const char want_clients_json[] =
	"[\n"
	"  {\"client_ip\":\"192.0.2.11\",\"first_seen\":\"2025-11-22T10:00:04.123456Z\",\"last_seen\":\"2025-11-22T10:00:06.124456Z\",\"handshakes\":2,\"n_hello\":2,\"n_offers_pq\":0,\"n_no_pq\":2,\"offers_pq\":\"none\",\"pq_groups_offered\":null,\"servers\":2,\"protocols\":\"tls\",\"sample_snis\":\"declined.example\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":2,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":1,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":2},\n"
	"  {\"client_ip\":\"192.0.2.12\",\"first_seen\":\"2025-11-22T10:00:10.123456Z\",\"last_seen\":\"2025-11-22T10:00:10.124456Z\",\"handshakes\":1,\"n_hello\":1,\"n_offers_pq\":0,\"n_no_pq\":1,\"offers_pq\":\"none\",\"pq_groups_offered\":null,\"servers\":1,\"protocols\":\"tls\",\"sample_snis\":\"mixed.example\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":0,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":1,\"n_client_no_pq\":1,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":2},\n"
	"  {\"client_ip\":\"192.0.2.10\",\"first_seen\":\"2025-11-22T10:00:01.123456Z\",\"last_seen\":\"2025-11-22T10:00:14.124456Z\",\"handshakes\":10,\"n_hello\":10,\"n_offers_pq\":10,\"n_no_pq\":0,\"offers_pq\":\"all\",\"pq_groups_offered\":\"X25519Kyber768Draft00,X25519MLKEM768\",\"servers\":7,\"protocols\":\"tls\",\"sample_snis\":\"declined.example,draft.example,evil\\u001b[2J,\\\"x\\\".example +4\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":4,\"n_pq\":0,\"n_hybrid_draft\":1,\"n_classical\":1,\"n_client_no_pq\":0,\"n_server_declined\":1,\"n_tls12\":0,\"n_resumed\":1,\"n_incomplete\":2,\"n_unknown\":1,\"risk\":0},\n"
	"  {\"client_ip\":\"192.0.2.20\",\"first_seen\":\"2025-11-22T10:00:02.123456Z\",\"last_seen\":\"2025-11-22T10:00:02.124456Z\",\"handshakes\":1,\"n_hello\":1,\"n_offers_pq\":1,\"n_no_pq\":0,\"offers_pq\":\"all\",\"pq_groups_offered\":\"X25519MLKEM768\",\"servers\":1,\"protocols\":\"tls\",\"sample_snis\":\"example.com\",\"sample_alpns\":\"h2,http/1.1\",\"n_hybrid\":1,\"n_pq\":0,\"n_hybrid_draft\":0,\"n_classical\":0,\"n_client_no_pq\":0,\"n_server_declined\":0,\"n_tls12\":0,\"n_resumed\":0,\"n_incomplete\":0,\"n_unknown\":0,\"risk\":0}\n"
	"]\n";
static const char want_health_table[] =
	"ClientHellos by size (the largest of a handshake; a hybrid one is 1500 bytes or more):\n"
	"CLIENTHELLO  HANDSHAKES  ANSWERED  NO SERVERHELLO    %  RST  FIN  TIMEOUT  END-OF-CAPTURE  GAP  OTHER  FIRST SEGMENT LOST  HRR  SLOW SH\n"
	"< 1500                5         4               1   20    1    0        0               0    0      0                   0    0        0\n"
	">= 1500              16        12               4   25    2    0        1               1    0      0                   0    1        1\n"
	"unknown               1         0               1  100    0    0        0               0    1      0                   1    0        0\n"
	"\n"
	"Hops with ClientHellos left unanswered, answered late, or retried (server IP, port):\n"
	"SERVER        PORT  HANDSHAKES  >=1500 NO-SH  <1500 NO-SH  FIRST SEG LOST  REASONS                         HRR  SLOW SH  SNI (SAMPLE)\n"
	"198.51.100.1   443           8  3/6           0/1                       1  end-of-capture,gap,rst,timeout    0        1  example.com\n"
	"198.51.100.5   443           2  1/2           0/0                       0  rst                               0        0  quiet.example\n"
	"198.51.100.2   443           3  0/1           1/2                       0  rst                               0        0  declined.example\n"
	"2001:db8::1    443           1  0/1           0/0                       0  -                                 1        0  hrr.example\n"
	"\n"
	"Findings:\n"
	"  error    198.51.100.1:443: 1 ClientHello whose first segment never reached the sensor (incomplete/gap, only later segments seen): the first, full-size segment was dropped before the capture point, likely an MTU or middlebox drop\n"
	"  warning  198.51.100.1:443: 3 of 6 ClientHellos of 1500 bytes or more got no ServerHello (end-of-capture,rst,timeout), against 0 of 1 smaller one: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\n"
	"  warning  198.51.100.1:443: 1 ServerHello came 1 s or more after the ClientHello (slowest 1250 ms): a lost and retransmitted ClientHello segment (initial RTO 1 s) or a slow server\n"
	"  warning  198.51.100.5:443: 1 of 2 ClientHellos of 1500 bytes or more got no ServerHello (rst), against 0 of 0 smaller ones: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\n"
	"  warning  198.51.100.2:443: 1 ClientHello got no ServerHello (rst), large ones no more often than small ones: not a size problem, look at the server or the path\n"
	"  info     [2001:db8::1]:443: 1 handshake needed a HelloRetryRequest (one more round trip): the server asked for X25519MLKEM768, which the client supported without sending a key share for it\n"
	"\n"
	"Capture runs behind these handshakes: 2; segments entirely retransmitted 0, out-of-order segments 0, packets dropped by the capture 0 (all flows: per-handshake retransmissions are not recorded)\n";
static const char want_health_json[] =
	"{\"bands\":[\n"
	"  {\"band\":\"< 1500\",\"handshakes\":5,\"answered\":4,\"no_server_hello\":1,\"n_rst\":1,\"n_fin\":0,\"n_timeout\":0,\"n_end_of_capture\":0,\"n_gap\":0,\"n_other\":0,\"n_first_segment_lost\":0,\"n_hrr\":0,\"n_slow\":0,\"pct_no_server_hello\":20},\n"
	"  {\"band\":\">= 1500\",\"handshakes\":16,\"answered\":12,\"no_server_hello\":4,\"n_rst\":2,\"n_fin\":0,\"n_timeout\":1,\"n_end_of_capture\":1,\"n_gap\":0,\"n_other\":0,\"n_first_segment_lost\":0,\"n_hrr\":1,\"n_slow\":1,\"pct_no_server_hello\":25},\n"
	"  {\"band\":\"unknown\",\"handshakes\":1,\"answered\":0,\"no_server_hello\":1,\"n_rst\":0,\"n_fin\":0,\"n_timeout\":0,\"n_end_of_capture\":0,\"n_gap\":1,\"n_other\":0,\"n_first_segment_lost\":1,\"n_hrr\":0,\"n_slow\":0,\"pct_no_server_hello\":100}\n"
	"]\n"
	",\"hops\":[\n"
	"  {\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"handshakes\":8,\"n_small\":1,\"n_small_no_sh\":0,\"n_large\":6,\"n_large_no_sh\":3,\"n_first_segment_lost\":1,\"no_server_hello\":4,\"reasons\":\"end-of-capture,gap,rst,timeout\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":1,\"max_ch_to_sh_us\":1250000,\"sample_snis\":\"example.com\",\"last_seen\":\"2025-11-22T11:00:21.373456Z\",\"large_reasons\":\"end-of-capture,rst,timeout\",\"other_reasons\":\"gap\"},\n"
	"  {\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"handshakes\":2,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":2,\"n_large_no_sh\":1,\"n_first_segment_lost\":0,\"no_server_hello\":1,\"reasons\":\"rst\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":12345,\"sample_snis\":\"quiet.example\",\"last_seen\":\"2025-11-22T10:00:12.124456Z\",\"large_reasons\":\"rst\",\"other_reasons\":null},\n"
	"  {\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"handshakes\":3,\"n_small\":2,\"n_small_no_sh\":1,\"n_large\":1,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":1,\"reasons\":\"rst\",\"n_hrr\":0,\"hrr_groups\":null,\"n_slow\":0,\"max_ch_to_sh_us\":12345,\"sample_snis\":\"declined.example\",\"last_seen\":\"2025-11-22T11:00:05.124456Z\",\"large_reasons\":null,\"other_reasons\":\"rst\"},\n"
	"  {\"server_ip\":\"2001:db8::1\",\"server_port\":443,\"handshakes\":1,\"n_small\":0,\"n_small_no_sh\":0,\"n_large\":1,\"n_large_no_sh\":0,\"n_first_segment_lost\":0,\"no_server_hello\":0,\"reasons\":null,\"n_hrr\":1,\"hrr_groups\":\"X25519MLKEM768\",\"n_slow\":0,\"max_ch_to_sh_us\":30000,\"sample_snis\":\"hrr.example\",\"last_seen\":\"2025-11-22T11:00:40.153456Z\",\"large_reasons\":null,\"other_reasons\":null}\n"
	"]\n"
	",\"findings\":[\n"
	"  {\"severity\":\"error\",\"kind\":\"first-segment-lost\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.1:443: 1 ClientHello whose first segment never reached the sensor (incomplete/gap, only later segments seen): the first, full-size segment was dropped before the capture point, likely an MTU or middlebox drop\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"large-clienthello-unanswered\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":3,\"text\":\"198.51.100.1:443: 3 of 6 ClientHellos of 1500 bytes or more got no ServerHello (end-of-capture,rst,timeout), against 0 of 1 smaller one: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"slow-server-hello\",\"server_ip\":\"198.51.100.1\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.1:443: 1 ServerHello came 1 s or more after the ClientHello (slowest 1250 ms): a lost and retransmitted ClientHello segment (initial RTO 1 s) or a slow server\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"large-clienthello-unanswered\",\"server_ip\":\"198.51.100.5\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.5:443: 1 of 2 ClientHellos of 1500 bytes or more got no ServerHello (rst), against 0 of 0 smaller ones: large (hybrid) ClientHellos are likely dropped on this path (MTU, MSS clamping or a middlebox size limit)\"},\n"
	"  {\"severity\":\"warning\",\"kind\":\"clienthello-unanswered\",\"server_ip\":\"198.51.100.2\",\"server_port\":443,\"count\":1,\"text\":\"198.51.100.2:443: 1 ClientHello got no ServerHello (rst), large ones no more often than small ones: not a size problem, look at the server or the path\"},\n"
	"  {\"severity\":\"info\",\"kind\":\"hello-retry-request\",\"server_ip\":\"2001:db8::1\",\"server_port\":443,\"count\":1,\"text\":\"[2001:db8::1]:443: 1 handshake needed a HelloRetryRequest (one more round trip): the server asked for X25519MLKEM768, which the client supported without sending a key share for it\"}\n"
	"],\n"
	"\"runs\":{\"runs\":2,\"reasm_retransmits\":0,\"reasm_ooo_segments\":0,\"capture_dropped\":0,\"unfinished\":0}}\n";
static const char want_health_csv_s[] =
	"server_ip,server_port,handshakes,n_small,n_small_no_sh,n_large,n_large_no_sh,n_first_segment_lost,no_server_hello,reasons,n_hrr,hrr_groups,n_slow,max_ch_to_sh_us,sample_snis,last_seen,large_reasons,other_reasons\r\n"
	"198.51.100.1,443,3,0,0,3,1,0,1,rst,0,,0,12345,example.com,2025-11-22T10:00:03.124456Z,rst,\r\n"
	"198.51.100.5,443,2,0,0,2,1,0,1,rst,0,,0,12345,quiet.example,2025-11-22T10:00:12.124456Z,rst,\r\n";
