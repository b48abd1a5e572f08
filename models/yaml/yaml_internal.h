/* yaml_internal.h — the YAML reader's insides, shared by its files (internal to
 * models/yaml/): the document (its nodes live in one bp_arena, graph/'s allocator),
 * errors at a file, line and column, and the tree builder. */
#ifndef BPTT_YAML_INTERNAL_H
#define BPTT_YAML_INTERNAL_H

#include "arena.h"
#include "yaml_doc.h"

struct bp_yd_doc {
    char *file;
    bp_yd_node *root;
    bp_arena arena; /* every node and string of the tree */
    bp_yd_limits lim;
};

/* n zeroed bytes (16-aligned) in the document's arena, NULL when out of memory; a copy of
 * s[0..n) there, NUL-terminated. */
void *bp_yd_alloc(bp_yd_doc *d, size_t n);
char *bp_yd_strndup(bp_yd_doc *d, const char *s, size_t n);

/* "file:line:col: message" into err; returns st. */
bp_status bp_yd_fail_at(bp_error *err, bp_status st, const char *file, size_t line, size_t col,
                        const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Parse text (checked first: UTF-8, no control characters, no tabs in indentation) into
 * nodes in doc's arena, labelled file; *root NULL when it holds no document
 * (yaml_build.c). */
bp_status bp_yd_build(bp_yd_doc *doc, const char *file, const char *text, size_t len,
                      bp_yd_node **root, bp_error *err);

#endif
