/* SPDX-License-Identifier: BSD-2-Clause */
/* pq_dl.c: libpq loaded on first use (see pq_dl.h). */
#define KX_PQ_NO_REDIRECT /* here the PQ* names are libpq's own */
#include "pq_dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct kx_pq_api kx_pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_err[256];

static void load(void)
{
	/* The soname of Debian's libpq5; RTLD_LOCAL keeps its symbols private. */
	void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_err, sizeof(load_err),
			 "the central store needs libpq (apt-get install libpq5): %s", dlerror());
		return;
	}
	struct kx_pq_api api;
#define KX_PQ_RESOLVE(ret, name, args)                                                   \
	*(void **)&api.name = dlsym(h, #name);                                             \
	if (!api.name) {                                                                   \
		snprintf(load_err, sizeof(load_err), "libpq.so.5 lacks %s", #name);        \
		return;                                                                    \
	}
	KX_PQ_FUNCS(KX_PQ_RESOLVE)
#undef KX_PQ_RESOLVE
	kx_pq = api;
}

int kx_pq_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (kx_pq.PQconnectdbParams)
		return 0;
	snprintf(err, errlen, "%s", load_err);
	return -1;
}
