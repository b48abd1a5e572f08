/* pool.c — see pool.h. */
#include "pool.h"

#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif
enum { MIN_BYTES = 64, SIZES = sizeof(((bp_pool *)0)->size) / sizeof(((bp_pool *)0)->size[0]) };

void *bp_pool_take(bp_pool *p, size_t bytes)
{
    for (int i = 0; i < SIZES; i++)
        if (p->size[i].bytes == bytes && p->size[i].head) {
            unsigned char *b = p->size[i].head;
            UNPOISON(b, bytes);
            memcpy(&p->size[i].head, b, sizeof(void *));
            return b;
        }
    return NULL;
}

void bp_pool_give(bp_pool *p, void *b, size_t bytes)
{
    for (int i = 0; bytes >= MIN_BYTES && i < SIZES; i++)
        if (p->size[i].bytes == bytes || !p->size[i].bytes) {
            p->size[i].bytes = bytes;
            memcpy(b, &p->size[i].head, sizeof(void *));
            p->size[i].head = b;
            POISON((unsigned char *)b + sizeof(void *), bytes - sizeof(void *));
            return;
        }
}

void bp_pool_clear(bp_pool *p)
{
    for (int i = 0; i < SIZES; i++)
        for (unsigned char *b = p->size[i].head; b;) {
            UNPOISON(b, p->size[i].bytes);
            memcpy(&b, b, sizeof(void *));
        }
    memset(p, 0, sizeof *p);
}
