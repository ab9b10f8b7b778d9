/* SPDX-License-Identifier: BSD-2-Clause */
/* pq_dl.h: libpq, loaded when first needed (dlopen "libpq.so.5").
 *
 * Linking libpq would load it and its dependencies (OpenSSL, Kerberos,
 * LDAP: measured +5 MiB of resident memory) into every sensor, including
 * the ones that never talk to a central store. The central code includes
 * this header instead of calling libpq directly: each PQ* name below
 * becomes a call through a pointer resolved by kx_pq_load(). */
#ifndef KEXWATCH_PQ_DL_H
#define KEXWATCH_PQ_DL_H

#include <libpq-fe.h>
#include <stddef.h>

#define KX_PQ_FUNCS(X)                                                                  \
	X(PGconn *, PQconnectdbParams, (const char *const *, const char *const *, int))  \
	X(ConnStatusType, PQstatus, (const PGconn *))                                     \
	X(void, PQfinish, (PGconn *))                                                     \
	X(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *, PQnoticeProcessor, void *)) \
	X(char *, PQerrorMessage, (const PGconn *))                                       \
	X(char *, PQresultErrorMessage, (const PGresult *))                               \
	X(PGresult *, PQexec, (PGconn *, const char *))                                   \
	X(PGresult *, PQexecParams, (PGconn *, const char *, int, const Oid *,            \
				     const char *const *, const int *, const int *, int))  \
	X(ExecStatusType, PQresultStatus, (const PGresult *))                             \
	X(void, PQclear, (PGresult *))                                                    \
	X(int, PQntuples, (const PGresult *))                                             \
	X(int, PQnfields, (const PGresult *))                                             \
	X(char *, PQfname, (const PGresult *, int))                                       \
	X(Oid, PQftype, (const PGresult *, int))                                          \
	X(char *, PQgetvalue, (const PGresult *, int, int))                               \
	X(int, PQgetisnull, (const PGresult *, int, int))                                 \
	X(int, PQgetlength, (const PGresult *, int, int))                                 \
	X(char *, PQcmdTuples, (PGresult *))                                              \
	X(PQconninfoOption *, PQconninfoParse, (const char *, char **))                   \
	X(void, PQconninfoFree, (PQconninfoOption *))                                     \
	X(char *, PQresultErrorField, (const PGresult *, int))                            \
	X(int, PQputCopyData, (PGconn *, const char *, int))                              \
	X(int, PQputCopyEnd, (PGconn *, const char *))                                    \
	X(PGresult *, PQgetResult, (PGconn *))                                            \
	X(char *, PQescapeLiteral, (PGconn *, const char *, size_t))                      \
	X(void, PQfreemem, (void *))                                                      \
	X(PGPing, PQpingParams, (const char *const *, const char *const *, int))

struct kx_pq_api {
#define KX_PQ_FIELD(ret, name, args) ret(*name) args;
	KX_PQ_FUNCS(KX_PQ_FIELD)
#undef KX_PQ_FIELD
};

extern struct kx_pq_api kx_pq;

/* Loads libpq once (thread-safe). Returns 0, or -1 with a message in err. */
int kx_pq_load(char *err, size_t errlen);

#ifndef KX_PQ_NO_REDIRECT
#define PQconnectdbParams kx_pq.PQconnectdbParams
#define PQstatus kx_pq.PQstatus
#define PQfinish kx_pq.PQfinish
#define PQsetNoticeProcessor kx_pq.PQsetNoticeProcessor
#define PQerrorMessage kx_pq.PQerrorMessage
#define PQresultErrorMessage kx_pq.PQresultErrorMessage
#define PQexec kx_pq.PQexec
#define PQexecParams kx_pq.PQexecParams
#define PQresultStatus kx_pq.PQresultStatus
#define PQclear kx_pq.PQclear
#define PQntuples kx_pq.PQntuples
#define PQnfields kx_pq.PQnfields
#define PQfname kx_pq.PQfname
#define PQftype kx_pq.PQftype
#define PQgetvalue kx_pq.PQgetvalue
#define PQgetisnull kx_pq.PQgetisnull
#define PQgetlength kx_pq.PQgetlength
#define PQcmdTuples kx_pq.PQcmdTuples
#define PQconninfoParse kx_pq.PQconninfoParse
#define PQconninfoFree kx_pq.PQconninfoFree
#define PQresultErrorField kx_pq.PQresultErrorField
#define PQputCopyData kx_pq.PQputCopyData
#define PQputCopyEnd kx_pq.PQputCopyEnd
#define PQgetResult kx_pq.PQgetResult
#define PQescapeLiteral kx_pq.PQescapeLiteral
#define PQfreemem kx_pq.PQfreemem
#define PQpingParams kx_pq.PQpingParams
#endif

#endif
