/* yaml_doc.h — a strict, bounded YAML document reader: a file becomes a tree of
 * mappings, sequences and scalars, each node knowing its file, 1-based line and
 * column, and its path ("model.layers[0].hidden"). Internal to the library (not
 * installed); libyaml stays out of every header.
 *
 * Safety rules, each failing with "file:line:column: message":
 *   - the file: a regular file of at most 1 MiB (not a directory, not empty),
 *     UTF-8 text without control characters, no tab in an indentation;
 *   - one document; nesting at most 64 deep; at most 100000 nodes counting
 *     every alias expansion, so a "billion laughs" file fails after a few
 *     aliases, not after exhausting memory;
 *   - no tags at all (!!python/object, !foo, !!str): a model file is data;
 *   - mapping keys are non-empty scalars, each at most once per mapping; YAML
 *     1.1 merge keys ("<<") are refused;
 *   - aliases must name an anchor defined before them (so no cycles).
 * Scalars stay text until an accessor reads them: integers are plain decimal
 * ("64", "-3"), booleans plain true/false (not yes/no/on/off), numbers plain
 * decimal or exponent ("0.01", "1e-3"), null is plain "", "~" or "null". A
 * quoted scalar is always a string ("64" in quotes is not an integer).
 *
 * Usage, as a model loader would write it:
 *
 *     bp_yd_doc *doc = bp_yd_load_file(path, NULL, err);
 *     if (!doc) return err->status;      // "m.yaml:3:9: found a tab character ..."
 *     const bp_yd_node *root = bp_yd_root(doc), *model, *layers, *l;
 *     static const char *const top[] = {"model", "loss", "data", "train", NULL};
 *     static const char *const lkeys[] = {"name", "type", "hidden", NULL};
 *     static const char *const types[] = {"rnn", "lstm", "gru", NULL};
 *     long long hidden; int type;
 *     if (bp_yd_check_keys(root, top, -1, err) ||          // also: root is a mapping
 *         bp_yd_require(root, "model", &model, err) ||
 *         bp_yd_require(model, "layers", &layers, err) ||
 *         bp_yd_expect(layers, BP_YD_SEQ, err))
 *         goto fail;
 *     for (int i = 0; i < layers->n; i++) {
 *         l = layers->items[i];
 *         if (bp_yd_expect(l, BP_YD_MAP, err) || bp_yd_check_keys(l, lkeys, -1, err) ||
 *             bp_yd_get_enum(l, "type", 0, types, -1, &type, err) ||
 *             bp_yd_get_int(l, "hidden", 64, 1, 65536, &hidden, err))
 *             goto fail;   // "m.yaml:7:15: 'model.layers[0].hidden' is 1000000000, too
 *                          //  large (at most 65536)"
 *     }
 *     bp_yd_free(doc);     // every node and string goes with it
 *
 * Every accessor returns BP_OK (0) or a status with err filled, so calls chain
 * with ||. The map-and-key accessors (bp_yd_get_*) take the default when the
 * key is absent or the map itself is NULL (an absent optional section).
 * Nodes reached through an alias are shared with the anchored node (their line,
 * column and path are the anchor's). Everything belongs to the document.
 */
#ifndef BPTT_MODELS_YAML_DOC_H
#define BPTT_MODELS_YAML_DOC_H

#include "bptt_graph.h"

typedef enum bp_yd_kind { BP_YD_SCALAR, BP_YD_SEQ, BP_YD_MAP } bp_yd_kind;

typedef struct bp_yd_node bp_yd_node;
typedef struct bp_yd_doc bp_yd_doc;

/* Read-only for users of the tree. */
struct bp_yd_node {
    bp_yd_kind kind;
    int line, col;            /* 1-based; col counts characters */
    const char *file;         /* the file name, or the "--set ..." of an override */
    const bp_yd_node *parent; /* NULL for the root */
    const char *key;          /* the key under which it sits in a mapping, or NULL */
    int index;                /* its position in a sequence (or -1) */
    /* scalars */
    const char *text;         /* NUL-terminated (a scalar never holds NUL) */
    size_t len;
    bool plain;               /* unquoted, not a block scalar: may be a number, bool, null */
    /* sequences: items[0, n); mappings: keys[i] (scalars) -> items[i] */
    int n;
    bp_yd_node **items;
    bp_yd_node **keys;
    size_t weight;            /* nodes in the subtree, aliases expanded */
    bool aliased;             /* an alias uses it too: it sits in more than one place */
};

typedef struct bp_yd_limits {
    size_t max_bytes; /* file size (default 1 MiB) */
    int max_depth;    /* nesting (default 64) */
    size_t max_nodes; /* nodes, counting alias expansions (default 100000) */
} bp_yd_limits;

#define BP_YD_MAX_BYTES ((size_t)1 << 20)
#define BP_YD_MAX_DEPTH 64
#define BP_YD_MAX_NODES ((size_t)100000)

/* Read a file (lim NULL: the defaults). NULL and err on failure: BP_ERR_IO
 * when it cannot be opened ("m.yaml: cannot open: No such file or directory"),
 * BP_ERR_PARSE for everything else, with file:line:column. */
bp_yd_doc *bp_yd_load_file(const char *path, const bp_yd_limits *lim, bp_error *err);
/* The same for text in memory; name stands for the file in messages. */
bp_yd_doc *bp_yd_load_string(const char *name, const char *text, size_t len,
                             const bp_yd_limits *lim, bp_error *err);
void bp_yd_free(bp_yd_doc *doc);
const bp_yd_node *bp_yd_root(const bp_yd_doc *doc);
const char *bp_yd_file(const bp_yd_doc *doc);

/* Override one value, as `--set train.steps=100` does: the path names mapping
 * keys and sequence indices ("model.layers[1].hidden"); the value is parsed
 * as YAML under the same rules (so "{type: lstm, hidden: 32}" works). Missing
 * mapping keys (and mappings on the way) are created; indices must exist.
 * Errors name "--set <path>" and the place. */
bp_status bp_yd_set(bp_yd_doc *doc, const char *assignment, bp_error *err);

/* ---------------------------------------------------------------- walking */

/* The value under key in a mapping, or NULL (also when map is NULL or not a
 * mapping). */
const bp_yd_node *bp_yd_get(const bp_yd_node *map, const char *key);
bool bp_yd_is_null(const bp_yd_node *n); /* plain "", "~", "null", "Null", "NULL" */
const char *bp_yd_kind_name(bp_yd_kind k); /* "a mapping", "a sequence", "a scalar" */

/* The node's path ("model.layers[0].hidden"; "" for the root) into buf. */
char *bp_yd_path(const bp_yd_node *n, char *buf, size_t size);

/* err = "file:line:column: <message>" at n; returns st. */
bp_status bp_yd_fail(const bp_yd_node *n, bp_status st, bp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---------------------------------------------------------------- checking */

/* n has the kind ("'model.layers' must be a sequence, not a mapping"). */
bp_status bp_yd_expect(const bp_yd_node *n, bp_yd_kind kind, bp_error *err);
/* Every key of map is in known[0, n_known) (n_known < 0: NULL-terminated);
 * else "unknown key 'hiden' in 'model.layers[0]' (known: name, type, hidden;
 * did you mean 'hidden'?)" at the key. map must be a mapping. */
bp_status bp_yd_check_keys(const bp_yd_node *map, const char *const known[], int n_known,
                           bp_error *err);
/* *out = the value under key, or "'model' is missing the required key
 * 'layers'" at the mapping. A NULL map is an error too ("missing ... 'model'"
 * is reported by whoever looked it up, so pass mappings you required). */
bp_status bp_yd_require(const bp_yd_node *map, const char *key, const bp_yd_node **out,
                        bp_error *err);

/* ---------------------------------------------------------------- typed scalars */

bp_status bp_yd_int(const bp_yd_node *n, long long lo, long long hi, long long *out,
                    bp_error *err);
/* A finite number in [lo, hi]. */
bp_status bp_yd_double(const bp_yd_node *n, double lo, double hi, double *out, bp_error *err);
bp_status bp_yd_bool(const bp_yd_node *n, bool *out, bp_error *err);
/* Any non-null scalar; the text belongs to the document. */
bp_status bp_yd_string(const bp_yd_node *n, const char **out, bp_error *err);
/* The index of the scalar's text in names (n_names < 0: NULL-terminated). */
bp_status bp_yd_enum(const bp_yd_node *n, const char *const names[], int n_names, int *out,
                     bp_error *err);

/* The same under a key of a mapping, taking def when the key is absent. */
bp_status bp_yd_get_int(const bp_yd_node *map, const char *key, long long def, long long lo,
                        long long hi, long long *out, bp_error *err);
bp_status bp_yd_get_double(const bp_yd_node *map, const char *key, double def, double lo,
                           double hi, double *out, bp_error *err);
bp_status bp_yd_get_bool(const bp_yd_node *map, const char *key, bool def, bool *out,
                         bp_error *err);
bp_status bp_yd_get_string(const bp_yd_node *map, const char *key, const char *def,
                           const char **out, bp_error *err);
bp_status bp_yd_get_enum(const bp_yd_node *map, const char *key, int def,
                         const char *const names[], int n_names, int *out, bp_error *err);

#endif
