/* SPDX-License-Identifier: BSD-2-Clause */
/* bufpool.h: recycled power-of-two buffers under one byte cap.
 *
 * Reassembly and handshake-message buffers come from here. A buffer is
 * malloc'd the first time its size class is needed and then recycled through
 * a free list, so steady-state traffic allocates nothing; the total ever
 * allocated never exceeds the cap, and a refused allocation is the caller's
 * signal to give up on that stream (counted, never fatal).
 */
#ifndef KEXWATCH_BUFPOOL_H
#define KEXWATCH_BUFPOOL_H

#include <stddef.h>
#include <stdint.h>

struct kx_bufpool;

struct kx_bufpool *kx_bufpool_new(size_t memcap);
void kx_bufpool_free(struct kx_bufpool *p);

/* A buffer of at least `need` bytes (*ret_cap says how many), or NULL when
 * the cap would be exceeded. */
uint8_t *kx_buf_get(struct kx_bufpool *p, size_t need, uint32_t *ret_cap);

/* Returns a buffer; accepts NULL. */
void kx_buf_put(struct kx_bufpool *p, uint8_t *buf, uint32_t cap);

/* Grows *buf to at least `need` bytes keeping the first `keep` bytes.
 * Returns 0, or -1 (buffer unchanged) when the cap refuses. */
int kx_buf_grow(struct kx_bufpool *p, uint8_t **buf, uint32_t *cap, size_t need, size_t keep);

size_t kx_bufpool_allocated(const struct kx_bufpool *p); /* bytes malloc'd */
size_t kx_bufpool_in_use(const struct kx_bufpool *p);    /* bytes handed out */

#endif
