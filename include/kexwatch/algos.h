/* SPDX-License-Identifier: BSD-2-Clause */
/* algos.h: facts about the algorithms kexwatch sees negotiated, for the
 * CycloneDX CBOM (report/cbom.c): what primitive each is, its parameter
 * set, classical security in bits, NIST PQC security category and OID.
 *
 * Keyed by TLS code point (groups, cipher suites) or by SSH name (kex
 * methods, host key algorithms). Facts are from the specifications cited
 * in algos.c; a field a specification does not give is 0 / NULL.
 */
#ifndef KEXWATCH_ALGOS_H
#define KEXWATCH_ALGOS_H

#include <stdint.h>

struct kx_algo {
	const char *name;       /* the component name: "X25519MLKEM768", "AES-128-GCM" */
	const char *primitive;  /* CycloneDX algorithmProperties.primitive */
	const char *param_set;  /* parameterSetIdentifier, or NULL */
	const char *curve;      /* CycloneDX 1.6 curve, or NULL */
	const char *mode;       /* CycloneDX mode ("gcm", "cbc"), or NULL */
	const char *functions;  /* cryptoFunctions, ','-separated */
	int classical_bits;     /* classicalSecurityLevel; 0: depends on the key */
	int nist_level;         /* nistQuantumSecurityLevel (0: no category) */
	const char *oid;        /* or NULL */
};

/* A TLS supported group / named group (key agreement or KEM); NULL when
 * the code point is not in the table (GREASE, private use). */
const struct kx_algo *kx_algo_group(uint16_t code);

/* An SSH key exchange method or host key algorithm by name; NULL if unknown. */
const struct kx_algo *kx_algo_ssh(const char *name);

/* Any entry above, or a cipher's, by its component name. */
const struct kx_algo *kx_algo_by_name(const char *name);

/* A TLS cipher suite: IANA name, its bulk cipher (a kx_algo_by_name name)
 * and, for TLS 1.2 suites, the key exchange ("ECDHE", "RSA", "DHE"). */
struct kx_suite {
	uint16_t code;
	const char *name;
	const char *cipher;
	const char *kx;         /* NULL for TLS 1.3 suites */
};

/* NULL when the suite is not in the table. */
const struct kx_suite *kx_suite_find(uint16_t code);

#endif
