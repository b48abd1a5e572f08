/* suggest.c — Levenshtein distance and the "did you mean" hint. */
#include "suggest.h"

#include <ctype.h>
#include <stdbool.h>
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
    /* optimal string alignment: d[i][j] = distance(a[0, i), b[0, j)), three rows kept */
    size_t rows[3][CAP + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            int ai = tolower((unsigned char)a[i - 1]), bj = tolower((unsigned char)b[j - 1]);
            size_t best = prev[j - 1] + (ai == bj ? 0 : 1); /* substitute */
            if (prev[j] + 1 < best)
                best = prev[j] + 1; /* delete */
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1; /* insert */
            if (i > 1 && j > 1 && ai == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == bj && pp[j - 2] + 1 < best)
                best = pp[j - 2] + 1; /* swap two neighbours: "tahn" -> "tanh" */
            cur[j] = best;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb] + extra;
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
    size_t tl = strlen(tail);
    size_t room = size > tl + 1 ? size - tl - 1 : 0; /* for "known: ..." */
    size_t used = (size_t)snprintf(buf, size, "known: ");
    for (int i = 0; n < 0 ? names[i] != NULL : i < n; i++) {
        bool last = n < 0 ? names[i + 1] == NULL : i + 1 == n;
        size_t need = strlen(names[i]) + (i ? 2 : 0);
        if (used + need + (last ? 0 : 5) > room) { /* keep room for ", ..." */
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
