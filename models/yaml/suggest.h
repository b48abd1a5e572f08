/* suggest.h — "did you mean ...?" for unknown names. Internal to the library
 * (not installed), shared by the YAML reader, the model loader, the op lookup
 * and the command line.
 *
 *     char hint[256];
 *     bp_suggest_known(hint, sizeof hint, "hiden", known, n_known);
 *     // hint: "known: name, type, hidden; did you mean 'hidden'?"
 *     bp_error_set(err, BP_ERR_NAME, "unknown key 'hiden' (%s)", hint);
 */
#ifndef BPTT_MODELS_SUGGEST_H
#define BPTT_MODELS_SUGGEST_H

#include <stddef.h>

/* Edit distance (insertions, deletions, substitutions and swaps of two
 * neighbouring characters, "optimal string alignment"; ASCII letters compared
 * without case) between a and b. Strings longer than 64 bytes are compared on
 * their first 64 bytes, plus the difference in length, so the cost is bounded. */
size_t bp_levenshtein(const char *a, const char *b);

/* The name among names[0, n) closest to word, or NULL when none is close
 * enough: distance * 3 <= the longer length (at most 1 edit in 3), ties going
 * to the earlier name. A name equal to word except for case always counts.
 * n < 0: names is NULL-terminated. */
const char *bp_suggest(const char *word, const char *const names[], int n);

/* Write "known: a, b, c; did you mean 'b'?" (the suggestion only when there is
 * one) into buf, cut with "..." to fit. n < 0: names is NULL-terminated.
 * Returns buf. */
char *bp_suggest_known(char *buf, size_t size, const char *word, const char *const names[],
                       int n);

#endif
