/* SPDX-License-Identifier: BSD-2-Clause */
/* counters.h: the run's counters. Parsers and stages bump these instead of
 * logging; main prints them, store/ writes them into the runs table.
 * One X-macro list so printing, storing and (later) metrics never drift.
 */
#ifndef KEXWATCH_COUNTERS_H
#define KEXWATCH_COUNTERS_H

#include <stdint.h>

#define KX_COUNTERS(X)                                                              \
	X(packets,              "packets read")                                     \
	X(bytes,                "bytes on the wire (original packet lengths)")      \
	X(captured_bytes,       "bytes captured")                                   \
	X(pkt_tcp,              "TCP packets decoded")                              \
	X(pkt_udp,              "UDP packets decoded")                              \
	X(pkt_other,            "packets of other protocols (not analysed)")        \
	X(skip_link_short,      "skipped: link header truncated")                   \
	X(skip_link_unsupported,"skipped: unsupported link type")                   \
	X(skip_vlan_depth,      "skipped: more stacked VLAN tags than supported")   \
	X(skip_tunnel_short,    "skipped: tunnel header truncated")                 \
	X(skip_tunnel_malformed,"skipped: tunnel header malformed")                 \
	X(skip_tunnel_depth,    "skipped: tunnels nested deeper than supported (or too many MPLS labels)") \
	X(pkt_tunneled,         "packets decapsulated from a tunnel (the outermost counted)") \
	X(skip_ip_short,        "skipped: IP header truncated")                     \
	X(skip_ip_malformed,    "skipped: IP header malformed")                     \
	X(ip_len_zero,          "IPv4 packets with total length 0 (TSO): captured length used") \
	X(skip_ip_fragment,     "skipped: IP fragments not reassembled (cut by the snap length, or --defrag-memcap 0)") \
	X(defrag_fragments,     "IP fragments given to reassembly")                 \
	X(defrag_reassembled,   "IP datagrams reassembled from fragments")          \
	X(defrag_incomplete,    "fragmented datagrams never completed (timed out or left at the end)") \
	X(defrag_memcap_drops,  "fragmented datagrams dropped to stay within --defrag-memcap or --defrag-max-datagrams, or with too many holes") \
	X(defrag_too_big,       "fragments reaching past 65535 bytes (datagram dropped)") \
	X(defrag_malformed,     "fragments malformed: not a multiple of 8 bytes, conflicting ends, header too long (dropped)") \
	X(defrag_duplicates,    "fragments whose bytes were all held already, unchanged (ignored)") \
	X(defrag_overlaps,      "IPv4 fragments overlapping held bytes (first copy kept)") \
	X(defrag_overlap_conflicts, "IPv4 fragments overlapping held bytes with different bytes (first copy kept)") \
	X(defrag_ip6_overlaps,  "IPv6 datagrams dropped for overlapping fragments (RFC 5722)") \
	X(skip_ip6_ext,         "skipped: IPv6 extension header chain malformed")   \
	X(skip_tcp_short,       "skipped: TCP header truncated")                    \
	X(skip_tcp_malformed,   "skipped: TCP header malformed")                    \
	X(payload_truncated,    "TCP payload cut by the snap length (not reassembled)") \
	X(capture_records_corrupt, "capture file records corrupt (resynchronised or stopped)") \
	X(capture_corrupt_bytes,  "capture file bytes skipped after corrupt record headers") \
	X(capture_truncated,    "capture files ending mid-record")                  \
	X(capture_received,     "live: packets the kernel passed to the capture")   \
	X(capture_dropped,      "live: packets dropped by the kernel (buffer full)") \
	X(capture_if_dropped,   "live: packets dropped by the interface or driver") \
	X(flows_created,        "flows created")                                    \
	X(flows_evicted_full,   "flows evicted because the flow table was full")    \
	X(flows_expired_idle,   "flows expired by the idle timeout")                \
	X(flows_refused,        "flows refused (table full of protected flows)")    \
	X(flows_not_tls,        "flows whose payload was not a TLS handshake")      \
	X(flows_bypassed,       "flows bypassed after their handshake was final")  \
	X(sessions_refused,     "handshake contexts refused (--max-handshakes reached)")          \
	X(reasm_ooo_segments,   "out-of-order segments held")                       \
	X(reasm_retransmits,    "segments entirely retransmitted")                  \
	X(reasm_overlap_conflicts, "overlapping segments with conflicting bytes (first copy kept)") \
	X(reasm_ooo_dropped,    "out-of-order segments dropped (buffer cap)")       \
	X(reasm_depth_reached,  "streams that reached --max-stream-bytes")          \
	X(reasm_midstream,      "streams picked up without a SYN")                  \
	X(reasm_memcap_hits,    "buffer allocations refused (--memcap reached)")     \
	X(tls_records,          "TLS records parsed")                               \
	X(quic_initials,        "QUIC Initial packets decrypted")                   \
	X(quic_undecryptable,   "QUIC datagrams that did not open or parse")        \
	X(quic_retry_followed,  "QUIC Retry packets followed (Initial keys re-derived)") \
	X(quic_retry_ignored,   "QUIC Retry packets ignored (a later one, unverified or without token)") \
	X(dtls_records,         "DTLS records parsed")                              \
	X(dtls_encrypted,       "DTLS records skipped as encrypted (later epoch, DTLS 1.3 unified header, connection ID)") \
	X(dtls_retransmits,     "DTLS handshake fragments already seen (retransmitted flights, duplicates)") \
	X(dtls_fragments_dropped, "DTLS handshake fragments dropped (too far ahead, too many pieces or messages)") \
	X(dtls_conflicts,       "DTLS handshake fragments contradicting bytes or lengths seen first (first copy kept)") \
	X(dtls_invalid,         "DTLS records or fragments with impossible lengths (rest of the datagram or record discarded)") \
	X(dtls_hello_verify,    "DTLS HelloVerifyRequest cookie exchanges")        \
	X(tls_malformed,        "TLS handshakes with malformed bytes")              \
	X(tls_hello_too_big,    "handshake messages larger than the cap")           \
	X(tls_orphan_server,    "ServerHellos without a ClientHello (row: offer unseen)") \
	X(cert_parsed,          "TLS 1.2 / DTLS 1.2 server leaf certificates read")  \
	X(cert_unparsed,        "TLS 1.2 / DTLS 1.2 server certificates not read (malformed, too big)") \
	X(kx_share_size_bad,    "handshakes with a key share whose size does not fit its group (verdict unknown)") \
	X(kx_not_offered,       "handshakes whose server selected a group the client never offered (verdict unknown)") \
	X(kx_share_unlisted,    "handshakes with a key share for a group absent from supported_groups (verdict unknown)") \
	X(flow_hs_row,          "flows ended: a handshake row")                     \
	X(flow_capacity,        "flows ended: handshake refused for capacity (row incomplete/capacity)") \
	X(flow_plaintext,       "flows ended: a plaintext session")                 \
	X(flow_unseen,          "flows ended: encrypted, handshake not seen")       \
	X(flow_one_sided,       "flows ended: payload one way only, no handshake")  \
	X(flow_no_payload,      "flows ended: no payload (SYN only, ACKs, scans)")  \
	X(flow_plain_off,       "flows ended: cleartext, not recorded (--plaintext)") \
	X(flow_unrecognised,    "flows ended: payload neither a handshake nor a known session") \
	X(ssh_pre_banner_lines, "SSH: lines before a version line, skipped (RFC 4253 4.2)") \
	X(ssh_ecdh_malformed,   "SSH: KEX_ECDH_INIT / REPLY whose strings do not fit (size unchecked)") \
	X(hs_total,             "handshakes recorded")                              \
	X(hs_hybrid,            "handshakes: hybrid")                               \
	X(hs_pq,                "handshakes: pq")                                   \
	X(hs_hybrid_draft,      "handshakes: hybrid-draft")                         \
	X(hs_classical,         "handshakes: classical")                            \
	X(hs_resumed,           "handshakes: resumed")                              \
	X(hs_unknown,           "handshakes: unknown group")                        \
	X(hs_incomplete,        "handshakes: incomplete")                           \
	X(ndpi_flows,           "flows given to nDPI")                              \
	X(db_rows_written,      "rows written to the database")                     \
	X(db_rows_duplicate,    "rows already in the database (same handshake)")    \
	X(db_errors,            "database write errors")                            \
	X(central_rows_sent,    "rows the central store accepted (--pg)")           \
	X(central_rows_present, "rows the central store already had (--pg)")        \
	X(central_send_errors,  "failed connections or batches to the central store (--pg)") \
	X(central_rows_rejected, "rows the central store refused as invalid data (logged, skipped)")

struct kx_counters {
#define KX_COUNTER_FIELD(name, desc) uint64_t name;
	KX_COUNTERS(KX_COUNTER_FIELD)
#undef KX_COUNTER_FIELD
};

struct kx_counter_desc {
	const char *name;
	const char *desc;
	unsigned offset;
};

extern const struct kx_counter_desc kx_counter_descs[];
extern const unsigned kx_counter_count;

static inline uint64_t kx_counter_get(const struct kx_counters *c, unsigned i)
{
	return *(const uint64_t *)((const char *)c + kx_counter_descs[i].offset);
}

#endif
