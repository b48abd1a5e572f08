/* pool.h — the tape's pool of released buffers (internal to graph/): gradients after
 * their node's backward, values no backward reads (bp_tape_release_value), kept by size
 * and handed out last given first, while still in cache. The buffers are arena pieces;
 * the pool only links them, through their first bytes, so it owns no memory. A pooled
 * buffer is poisoned under AddressSanitizer past its link, so a read of a released grad
 * or value is reported. */
#ifndef BPTT_POOL_H
#define BPTT_POOL_H

#include <stddef.h>

typedef struct bp_pool {
    struct {
        size_t bytes;
        void *head; /* a stack linked through each buffer's first bytes */
    } size[8];
} bp_pool;

/* A given-back buffer of exactly `bytes`, or NULL. */
void *bp_pool_take(bp_pool *p, size_t bytes);
/* Give b, of `bytes`, back (one too small to link, or of a ninth size, is left to the
 * arena's reset). */
void bp_pool_give(bp_pool *p, void *b, size_t bytes);
/* Forget every buffer (before the arena rewinds: they become plain arena memory). */
void bp_pool_clear(bp_pool *p);

#endif
