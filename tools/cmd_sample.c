/* cmd_sample.c — `bptt sample`: text from a character model, one token at a time with the
 * state carried: the prime text sets the state, then each next character is drawn from
 * softmax(z / temperature). The vocabulary comes from the checkpoint's metadata, so no
 * text file is needed. A token model from a data file (no characters) samples token ids,
 * printed space-separated, its prime ids too. */
#include "args.h"
#include "cli.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct sample_opts {
    model_args m;
    const char *weights, *prime;
    long length;
    double temperature;
} sample_opts;

static int parse(int argc, char **argv, sample_opts *o)
{
    const char *length = NULL, *temp = NULL;
    const args_string strings[] = {{"--weights", &o->weights}, {"--prime", &o->prime},
                                   {"--length", &length},      {"--temperature", &temp},
                                   {NULL, NULL}};
    for (int i = 1; i < argc; i++) {
        int used = args_take("sample", &o->m, strings, argc, argv, i);
        if (used < 0)
            return -1;
        if (used)
            i += used - 1;
        else if (args_model_file("sample", &o->m, argv[i]))
            return -1;
    }
    char *end;
    o->length = length ? strtol(length, &end, 10) : 200;
    if (length && (*end || o->length < 0 || o->length > 100000000)) {
        cli_error("sample", "--length needs a number of characters (or tokens) in [0, 10^8], "
                  "not '%s'", length);
        return -1;
    }
    o->temperature = temp ? strtod(temp, &end) : 1.0;
    if (temp && (*end || !(o->temperature > 0 && o->temperature <= 100))) {
        cli_error("sample", "--temperature needs a number in (0, 100], not '%s'", temp);
        return -1;
    }
    if (!o->m.model || !o->weights) {
        cli_error("sample", "usage: bptt sample MODEL.yaml --weights W [--prime TEXT] [--length N] "
                  "[--temperature T] [--seed S]");
        return -1;
    }
    return 0;
}

/* Draw from p^(1/temp), renormalised; w is V doubles of scratch. */
static int draw(const bp_real *p, int V, double temp, bp_rng *rng, double *w)
{
    double total = 0;
    for (int c = 0; c < V; c++)
        total += w[c] = pow((double)p[c] > 0 ? (double)p[c] : 0, 1 / temp);
    double u = bp_rng_uniform(rng) * total;
    for (int c = 0; c < V; c++)
        if ((u -= w[c]) < 0)
            return c;
    return V - 1;
}

/* Feed ids[0..n) with the state carried; probs gets the last step's distribution. */
static bp_status feed(bp_trainer *tr, bp_net_state *state, const int *ids, int n, bp_real *probs,
                      bp_real *all, bp_error *err)
{
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net(tr));
    bp_batch *b = bp_batch_new(1, n, 1, true, BP_TARGET_CLASS_SEQ, s->output_size, err);
    if (!b)
        return err->status;
    for (int i = 0; i < n; i++)
        b->x[i] = (bp_real)ids[i];
    bp_status st = bp_net_predict(bp_trainer_net(tr), bp_trainer_tape(tr), b, state, all, err);
    if (st == BP_OK)
        memcpy(probs, all + (size_t)(n - 1) * s->output_size, (size_t)s->output_size * sizeof *probs);
    bp_batch_free(b);
    return st;
}

/* The prime's ids into ids (room for strlen(prime) + 1): a character model's characters,
 * or a token model's ids (V of them: chars NULL), whole numbers separated by spaces or
 * commas. Without a prime, one id starts the state: the newline's, else 0. Returns the
 * count, or -1 (printed). */
static int prime_ids(const bp_task *task, const char *prime, int V, bool chars, int *ids)
{
    if (!prime) {
        ids[0] = chars && bp_task_char_id(task, '\n') >= 0 ? bp_task_char_id(task, '\n') : 0;
        return 1;
    }
    int n = 0;
    for (const char *p = prime; chars && *p; p++) {
        int id = bp_task_char_id(task, (unsigned char)*p);
        if (id < 0) {
            cli_error("sample", "--prime: character %d ('%c') at %d is not in the model's "
                      "vocabulary of %d characters", (unsigned char)*p,
                      *p >= 32 && *p < 127 ? *p : '?', (int)(p - prime), V);
            return -1;
        }
        ids[n++] = id;
    }
    for (const char *p = prime; !chars && *p;) {
        p += strspn(p, " ,\t");
        if (!*p)
            break;
        char *end;
        long id = strtol(p, &end, 10);
        if (end == p || !strchr(" ,\t", *end) || id < 0 || id >= V) {
            int len = (int)strcspn(p, " ,\t");
            cli_error("sample", "--prime: '%.*s' is not a token id of the model's vocab of %d "
                      "(a token model's prime is ids, e.g. --prime '3 1 4')", len, p, V);
            return -1;
        }
        ids[n++] = (int)id;
        p = end;
    }
    if (!n) {
        cli_error("sample", "--prime: no token ids in '%s'", prime);
        return -1;
    }
    return n;
}

static int run(bp_trainer *tr, const sample_opts *o)
{
    const bp_task *task = bp_trainer_task(tr);
    unsigned char vocab[256];
    int V = bp_task_vocab(task, vocab);
    const bp_net_spec *s = bp_net_spec_of(bp_trainer_net(tr));
    /* a character model; or a token model whose output is its vocabulary, sampled as ids
     * (each drawn class fed back as the next input) */
    bool chars = V > 0, ids_only = !chars && s->input_size == s->output_size;
    if (!s->tokens || s->head != BP_HEAD_SEQ || (chars && s->output_size != V) ||
        (!chars && !ids_only)) {
        cli_error("sample", "%s: not a character model (data.task: chars) or a per-step token "
                  "model whose output is its vocabulary (model.vocab = model.output): sample "
                  "feeds each drawn token back as the next input", o->weights);
        return EXIT_USAGE;
    }
    V = s->output_size;
    const char *prime = o->prime && o->prime[0] ? o->prime : NULL;
    size_t room = prime ? strlen(prime) + 1 : 1;
    int *ids = malloc(room * sizeof *ids);
    bp_real *all = malloc(room * (size_t)V * sizeof *all), *probs = malloc((size_t)V * sizeof *probs);
    double *w = malloc((size_t)V * sizeof *w);
    bp_error err = {0};
    bp_net_state *state = bp_net_state_new(bp_trainer_net(tr), 1, &err);
    int rc = ids && all && probs && w && state ? EXIT_OK : EXIT_RUNTIME;
    int n = rc == EXIT_OK ? prime_ids(task, prime, V, chars, ids) : 0;
    if (n < 0)
        rc = EXIT_USAGE;
    if (rc == EXIT_OK && feed(tr, state, ids, n, probs, all, &err) != BP_OK) {
        cli_error("sample", "%s", err.msg);
        rc = EXIT_RUNTIME;
    }
    bp_rng rng;
    bp_rng_seed(&rng, bp_trainer_config(tr)->train.seed); /* --seed S sets it */
    bool spaced = false; /* token ids: a space between two */
    for (int i = 0; rc == EXIT_OK && prime && i < n && !chars; i++, spaced = true)
        printf("%s%d", spaced ? " " : "", ids[i]);
    if (rc == EXIT_OK && prime && chars)
        fputs(prime, stdout);
    for (long k = 0; rc == EXIT_OK && k < o->length; k++, spaced = true) {
        int id = draw(probs, V, o->temperature, &rng, w);
        if (chars)
            putchar(vocab[id]);
        else
            printf("%s%d", spaced ? " " : "", id);
        if (feed(tr, state, &id, 1, probs, all, &err) != BP_OK) {
            cli_error("sample", "%s", err.msg);
            rc = EXIT_RUNTIME;
        }
    }
    if (rc == EXIT_OK)
        putchar('\n');
    bp_net_state_free(state);
    free(ids);
    free(all);
    free(probs);
    free(w);
    return rc;
}

int cmd_sample(int argc, char **argv)
{
    sample_opts o = {0};
    if (parse(argc, argv, &o))
        return EXIT_USAGE;
    int rc = EXIT_OK;
    bp_model_config *c = args_load("sample", &o.m, &rc);
    bp_trainer *tr = c ? predict_trainer("sample", c, o.weights, &rc) : NULL;
    if (tr)
        rc = run(tr, &o);
    bp_trainer_free(tr);
    bp_model_config_free(c);
    return rc;
}
