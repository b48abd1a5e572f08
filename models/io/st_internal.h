/* st_internal.h — the safetensors reader's insides, shared by safetensors.c (the file:
 * reading or mapping it, the accessors) and safetensors_header.c (the header's checks).
 * Internal to models/io/. */
#ifndef BPTT_ST_INTERNAL_H
#define BPTT_ST_INTERNAL_H

#include "bptt_arrays.h"
#include "bptt_safetensors.h"
#include "io_internal.h"

typedef struct st_tensor {
    bp_st_info info;
    uint64_t begin, end; /* byte offsets into the data */
} st_tensor;

struct bp_st_file {
    char *path;
    unsigned char *buf;         /* the whole file, when read (bp_st_load) */
    bp_mapped_file *map;        /* the whole file, when mapped (bp_st_map) */
    const unsigned char *bytes; /* buf or the mapping */
    size_t size;
    const unsigned char *data; /* after the header */
    size_t data_size;
    int n;
    st_tensor *t;   /* header order */
    int *by_name;   /* indices sorted by name */
    int n_meta;
    char **meta_key, **meta_val; /* header order */
};

/* Parse and check the header of f (f->bytes, f->size and f->data set): every tensor's
 * entry, the metadata, the layout of the data (safetensors_header.c). */
bp_status bp_st_parse_header(bp_st_file *f, bp_error *err);

#endif
