/* arena.h — bump allocator for one training step (internal to graph/).
 *
 * Allocation bumps a pointer inside the current block; a block that runs out
 * chains a new, larger one. Reset rewinds. If a step needed several blocks,
 * reset replaces them by one block of their total size, so from the second
 * step of a fixed graph on there is one block and no malloc at all. */
#ifndef BPTT_ARENA_H
#define BPTT_ARENA_H

#include <stddef.h>

typedef struct bp_arena_block bp_arena_block;

typedef struct bp_arena {
    bp_arena_block *head;   /* the block being filled; older ones follow ->next */
    size_t reserved;        /* bytes in all blocks */
} bp_arena;

#define BP_ARENA_ALIGN 64

void *bp_arena_alloc(bp_arena *a, size_t bytes); /* NULL when malloc fails */
void bp_arena_reset(bp_arena *a);
void bp_arena_free(bp_arena *a);

#endif
