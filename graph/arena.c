/* arena.c — see arena.h. */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>

struct bp_arena_block {
    bp_arena_block *next;
    size_t cap, used;
    _Alignas(BP_ARENA_ALIGN) unsigned char data[];
};

enum { FIRST_BLOCK = 1 << 20 };

static bp_arena_block *block_new(size_t cap)
{
    bp_arena_block *b = aligned_alloc(BP_ARENA_ALIGN,
                                      (sizeof *b + cap + BP_ARENA_ALIGN - 1) / BP_ARENA_ALIGN *
                                          BP_ARENA_ALIGN);
    if (b) {
        b->next = NULL;
        b->cap = cap;
        b->used = 0;
    }
    return b;
}

/* Room for `bytes` at `align` (a power of two) in block b, or SIZE_MAX. */
static size_t fit(const bp_arena_block *b, size_t bytes, size_t align)
{
    if (!b)
        return SIZE_MAX;
    size_t at = (b->used + align - 1) & ~(align - 1); /* a mask, not a division: per node */
    return at <= b->cap && b->cap - at >= bytes ? at : SIZE_MAX;
}

void *bp_arena_alloc(bp_arena *a, size_t bytes)
{
    /* Small pieces (1x1 values, node structs) 16-aligned; buffers 64, for SIMD. */
    size_t align = bytes < 256 ? 16 : BP_ARENA_ALIGN;
    size_t at = fit(a->head, bytes, align);
    if (at == SIZE_MAX) {
        size_t cap = a->head ? 2 * a->head->cap : FIRST_BLOCK;
        if (cap < bytes)
            cap = bytes;
        bp_arena_block *nb = block_new(cap);
        if (!nb)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        a->reserved += cap;
        at = 0;
    }
    a->head->used = at + bytes;
    return a->head->data + at;
}

void bp_arena_reset(bp_arena *a)
{
    if (a->head && a->head->next) {
        /* Coalesce: one block big enough for everything the last step used. */
        size_t total = a->reserved;
        bp_arena_free(a);
        a->head = block_new(total);
        a->reserved = a->head ? total : 0;
    }
    if (a->head)
        a->head->used = 0;
}

void bp_arena_free(bp_arena *a)
{
    bp_arena_block *b = a->head;
    while (b) {
        bp_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->reserved = 0;
}
