/* hash.h — FNV-1a, internal to the library: what tells model files (bp_model_config.hash)
 * and the ranks' models (bp_trainer_set_dist) apart. Not cryptographic. */
#ifndef BPTT_HASH_H
#define BPTT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define BP_FNV1A_START 0xcbf29ce484222325ull

/* h (BP_FNV1A_START to begin) folded with n bytes at data. */
uint64_t bp_fnv1a(uint64_t h, const void *data, size_t n);

#endif
