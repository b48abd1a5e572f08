/* json.h — a strict, bounded JSON reader (RFC 8259) for safetensors headers.
 * Internal to the library (not installed).
 *
 * Two passes, no tree: bp_json_check validates the whole text once (grammar,
 * UTF-8, nesting depth) without allocating; afterwards values are walked in
 * place with iterators that need no error checks. Memory use is the caller's
 * alone, so a hostile header cannot make the reader allocate more than the
 * strings it asks for.
 *
 *     size_t at; const char *why;
 *     if (!bp_json_check(text, n, 8, &at, &why)) -> error "byte %zu: %s"
 *     bp_json_val root = bp_json_root(text, n);
 *     bp_json_iter it = bp_json_iter_begin(root);
 *     bp_json_val key, val;
 *     while (bp_json_next_member(&it, &key, &val)) { ... }
 */
#ifndef BPTT_MODELS_JSON_H
#define BPTT_MODELS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum bp_json_type {
    BP_JSON_NULL,
    BP_JSON_BOOL,
    BP_JSON_NUMBER,
    BP_JSON_STRING,
    BP_JSON_ARRAY,
    BP_JSON_OBJECT,
} bp_json_type;

/* A value inside checked text: p is its first character, end the text's end. */
typedef struct bp_json_val {
    const char *p, *end;
} bp_json_val;

typedef struct bp_json_iter {
    const char *p, *end;
    bool first;
} bp_json_iter;

/* Is text[0, n) exactly one JSON value (with optional surrounding whitespace),
 * nested at most max_depth arrays/objects deep, with valid UTF-8 strings?
 * On failure *bad_at is the byte offset of the problem and *why says what. */
bool bp_json_check(const char *text, size_t n, int max_depth, size_t *bad_at, const char **why);

/* Bytes in the well-formed UTF-8 character at p (before end), or 0. */
size_t bp_json_utf8_char(const unsigned char *p, const unsigned char *end);
/* Is s[0, n) well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
bool bp_json_utf8_valid(const char *s, size_t n);

/* The functions below assume text that passed bp_json_check. */
bp_json_val bp_json_root(const char *text, size_t n);
bp_json_type bp_json_type_of(bp_json_val v);
const char *bp_json_type_name(bp_json_type t); /* "an object", "a string", ... */

/* Iterate an object's members or an array's items, in text order. */
bp_json_iter bp_json_iter_begin(bp_json_val container);
bool bp_json_next_member(bp_json_iter *it, bp_json_val *key, bp_json_val *val);
bool bp_json_next_item(bp_json_iter *it, bp_json_val *val);
/* How many members an object has. */
size_t bp_json_count_members(bp_json_val object);

/* A string value decoded (escapes resolved) into a new NUL-terminated buffer
 * (malloc; the caller frees). *len gets the decoded length; a decoded string
 * may hold NUL bytes ("\u0000"), which *len reveals. NULL when out of memory. */
char *bp_json_strdup(bp_json_val s, size_t *len);
/* Does the string value decode to exactly lit? */
bool bp_json_str_eq(bp_json_val s, const char *lit);
/* A number written as a non-negative integer (no sign, fraction or exponent)
 * that fits in uint64_t. */
bool bp_json_get_u64(bp_json_val v, uint64_t *out);

#endif
