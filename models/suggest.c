/* suggest.c — Levenshtein distance and the "did you mean" hint. */
#include "suggest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define CAP 64

size_t bp_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t extra = 0;
    if (la > CAP || lb > CAP) { /* compare the prefixes, charge the rest */
        size_t ca = la > CAP ? CAP : la, cb = lb > CAP ? CAP : lb;
        extra = (la - ca > lb - cb) ? (la - ca) - (lb - cb) : (lb - cb) - (la - ca);
        la = ca;
        lb = cb;
    }
    /* one row of the DP table: row[j] = distance(a[0, i), b[0, j)) */
    size_t row[CAP + 1];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0]; /* distance(a[0, i-1), b[0, j-1)) */
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + (same ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb] + extra;
}

const char *bp_suggest(const char *word, const char *const names[], int n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
        size_t d = bp_levenshtein(word, names[i]);
        size_t la = strlen(word), lb = strlen(names[i]);
        size_t longer = la > lb ? la : lb;
        if ((d * 3 <= longer || d == 0) && d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

char *bp_suggest_known(char *buf, size_t size, const char *word, const char *const names[],
                       int n)
{
    if (!size)
        return buf;
    const char *best = bp_suggest(word, names, n);
    char tail[160] = "";
    if (best)
        snprintf(tail, sizeof tail, "; did you mean '%.120s'?", best);
    size_t room = size > strlen(tail) ? size - strlen(tail) : 0;
    size_t used = (size_t)snprintf(buf, size, "known: ");
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
        size_t need = strlen(names[i]) + (i ? 2 : 0);
        if (used + need + 4 >= room) { /* keep room for ", ..." */
            if (used < size)
                used += (size_t)snprintf(buf + used, size - used, "%s...", i ? ", " : "");
            break;
        }
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    }
    if (used < size)
        snprintf(buf + used, size - used, "%s", tail);
    return buf;
}
