/* fuzz_csv.c — libFuzzer target: the first byte chooses the options, the rest is a CSV
 * sequence data set for bp_csv_set_parse. Options from byte b: features 1 + (b & 3);
 * the label last when b & 4; the header from (b >> 3) & 3: 0 or 3 auto, 1 none, 2 yes
 * (so '@' is features 1, label first, auto; 'F' features 3, label last, auto; 'H' no
 * header; 'P' a header). A failure must come back as an error with a one-line message
 * naming the file; a set that parses must keep its contract (lengths 1..T, zeros past
 * each end, finite values and labels). A crash, a leak, a sanitizer report or a
 * timeout is a bug. Seeds: tests/fuzz/seeds/csv/ (their first byte is the options). */
#include "bptt_arrays.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_set(const bp_csv_set *s, const bp_csv_opts *o)
{
    if (s->N < 1 || s->T < 1 || s->I != o->features)
        abort();
    volatile double sink = 0;
    for (size_t n = 0; n < (size_t)s->N; n++) {
        int len = s->lengths[n];
        if (len < 1 || len > s->T || !isfinite(s->labels[n]))
            abort();
        const float *x = s->x + n * (size_t)s->T * (size_t)s->I;
        for (size_t k = 0; k < (size_t)s->T * (size_t)s->I; k++) {
            if (!isfinite(x[k]) || (k >= (size_t)len * (size_t)s->I && x[k] != 0))
                abort();
            sink += x[k];
        }
        sink += s->labels[n];
    }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bp_csv_opts o;
    bp_csv_opts_default(&o);
    o.features = 1 + (data[0] & 3);
    o.label_last = data[0] & 4;
    static const int header[4] = {-1, 0, 1, -1};
    o.header = header[(data[0] >> 3) & 3];
    bp_csv_set s;
    bp_error err = {0};
    bp_status st = bp_csv_set_parse((const char *)data + 1, size - 1, "fuzz.csv", &o, &s, &err);
    if (st == BP_OK) {
        check_set(&s, &o);
        bp_csv_set_free(&s);
        if (s.x || s.N)
            abort(); /* freed and zeroed */
    } else if (err.status != st || strncmp(err.msg, "fuzz.csv", 8) != 0 ||
               strchr(err.msg, '\n') || s.x || s.lengths || s.labels || s.N) {
        abort(); /* a failure says what went wrong and leaves the set zeroed */
    }
    return 0;
}
