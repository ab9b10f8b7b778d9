/* SPDX-License-Identifier: BSD-2-Clause */
/* bufpool.c: size-class buffer recycling under a memory cap (see bufpool.h). */
#include "kexwatch/bufpool.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SHIFT 11 /* 2 KiB: one full-size segment */
#define N_CLASSES 14 /* up to 16 MiB */

struct kx_bufpool {
	size_t memcap;
	size_t allocated;
	size_t in_use;
	void *free_list[N_CLASSES]; /* linked through the first pointer of each buffer */
};

struct kx_bufpool *kx_bufpool_new(size_t memcap)
{
	struct kx_bufpool *p = calloc(1, sizeof(*p));
	if (p)
		p->memcap = memcap;
	return p;
}

void kx_bufpool_free(struct kx_bufpool *p)
{
	if (!p)
		return;
	for (int c = 0; c < N_CLASSES; c++) {
		void *b = p->free_list[c];
		while (b) {
			void *next;
			memcpy(&next, b, sizeof(next));
			free(b);
			b = next;
		}
	}
	free(p);
}

static int class_of(size_t need)
{
	for (int c = 0; c < N_CLASSES; c++)
		if (need <= ((size_t)1 << (MIN_SHIFT + c)))
			return c;
	return -1;
}

uint8_t *kx_buf_get(struct kx_bufpool *p, size_t need, uint32_t *ret_cap)
{
	int c = class_of(need ? need : 1);
	if (c < 0)
		return NULL;
	size_t size = (size_t)1 << (MIN_SHIFT + c);
	void *b = p->free_list[c];
	if (b) {
		memcpy(&p->free_list[c], b, sizeof(void *));
	} else {
		if (p->allocated + size > p->memcap)
			return NULL;
		b = malloc(size);
		if (!b)
			return NULL;
		p->allocated += size;
	}
	p->in_use += size;
	*ret_cap = (uint32_t)size;
	return b;
}

void kx_buf_put(struct kx_bufpool *p, uint8_t *buf, uint32_t cap)
{
	if (!buf)
		return;
	int c = class_of(cap);
	memcpy(buf, &p->free_list[c], sizeof(void *));
	p->free_list[c] = buf;
	p->in_use -= cap;
}

int kx_buf_grow(struct kx_bufpool *p, uint8_t **buf, uint32_t *cap, size_t need, size_t keep)
{
	if (*buf && need <= *cap)
		return 0;
	uint32_t ncap;
	uint8_t *nb = kx_buf_get(p, need, &ncap);
	if (!nb)
		return -1;
	if (*buf) {
		if (keep)
			memcpy(nb, *buf, keep);
		kx_buf_put(p, *buf, *cap);
	}
	*buf = nb;
	*cap = ncap;
	return 0;
}

size_t kx_bufpool_allocated(const struct kx_bufpool *p)
{
	return p->allocated;
}

size_t kx_bufpool_in_use(const struct kx_bufpool *p)
{
	return p->in_use;
}
