/* test_mpi.c — `mpirun -np N bptt train` (docs/mpi.md; built with BPTT_MPI only): N ranks
 * give the weights of one process with train.threads = N bit for bit (N = 1, 2, 4, with
 * dropout, truncated BPTT and an uneven split), a resume on another N continues them, a
 * data file's evaluation split across ranks prints what one process prints, and the
 * faults: a non-finite gradient on one rank, a rank killed or a rank stopped ends every
 * rank (no hang), the last checkpoint intact; ranks with different models are refused at
 * the start. */
#include "test_badinput_run.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

/* the character LSTM (truncated BPTT in chunks of 32, dropout 0.5) made small; batch 7
 * splits unevenly (3 + 4 on 2, 1 + 2 + 2 + 2 on 4) */
#define CHAR MODEL("char_lstm") " --set model.layers[1].hidden=16 --set train.batch=7 " \
             "--set train.eval_every=3 --set data.path=" BPTT_SOURCE_DIR "/models/data/bptt.txt"

TestSuite(mpi, .init = make_dir, .fini = remove_dir, .timeout = 300);

/* mpirun and its options: more ranks than cores; root needs Open MPI's consent; no
 * single-copy transfers between ranks (cross-memory attach, which containers often
 * forbid: the copy through shared memory works everywhere). */
static const char *launcher(void)
{
    static char s[512];
    snprintf(s, sizeof s, "%s %s--oversubscribe --mca btl_vader_single_copy_mechanism none",
             BPTT_MPIEXEC, geteuid() == 0 ? "--allow-run-as-root " : "");
    return s;
}

/* `mpirun -np n bptt ARGS` (from dir; a sanitizer's leak check would count Open MPI's
 * own allocations), stdout in out, stderr in err_text. */
__attribute__((format(printf, 2, 3))) static int mpi(int n, const char *fmt, ...)
{
    char args[4096], cmd[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "cd '%s' && ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}"
             "detect_leaks=0\" OPENBLAS_NUM_THREADS=1 %s -np %d %s %s "
             ">stdout.txt 2>stderr.txt </dev/null", dir, launcher(), n, BPTT, args);
    int status = system(cmd);
    slurp(tmp("stdout.txt"), out, sizeof out);
    slurp(tmp("stderr.txt"), err_text, sizeof err_text);
    return status_of(status);
}

/* Every tensor of checkpoints a and b (weights, optimizer state, step, data stream)
 * holds the same bits; the metadata (the model's hash takes --threads in) aside. */
static void expect_same_tensors(const char *a, const char *b)
{
    bp_error err;
    bp_st_file *fa = bp_st_load(tmp(a), &err), *fb = NULL;
    cr_assert_not_null(fa, "%s", err.msg);
    cr_assert_not_null(fb = bp_st_load(tmp(b), &err), "%s", err.msg);
    cr_assert_eq(bp_st_count(fa), bp_st_count(fb));
    for (int i = 0; i < bp_st_count(fa); i++) {
        const bp_st_info *ia = bp_st_at(fa, i), *ib = bp_st_at(fb, i);
        cr_assert_str_eq(ia->name, ib->name, "the tensors of %s and %s in one order", a, b);
        cr_assert_eq(ia->size, ib->size, "%s", ia->name);
        bp_real *va = calloc(ia->size + 1, sizeof *va), *vb = calloc(ia->size + 1, sizeof *vb);
        bp_st_read_at(fa, i, va);
        bp_st_read_at(fb, i, vb);
        cr_expect(!memcmp(va, vb, ia->size * sizeof *va), "%s: %s differs from %s's", a,
                  ia->name, b);
        free(va);
        free(vb);
    }
    bp_st_free(fa);
    bp_st_free(fb);
}

/* The eval lines of a run's output (its "eval  step" lines), into buf. */
static void eval_lines(char *buf, size_t n)
{
    buf[0] = '\0';
    size_t k = 0;
    for (const char *p = strstr(out, "eval  step"); p && k < n; p = strstr(p + 1, "eval  step")) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p + 1) : strlen(p);
        k += (size_t)snprintf(buf + k, n - k, "%.*s", (int)len, p);
    }
}

Test(mpi, n_ranks_give_the_bits_of_n_threads)
{
    char one[4096], many[4096];
    for (int n = 1; n <= 4; n *= 2) {
        cr_assert_eq(bptt("train " CHAR " --steps 6 --threads %d --out t%d.st --quiet", n, n),
                     0, "%s", err_text);
        eval_lines(one, sizeof one);
        cr_assert_eq(mpi(n, "train " CHAR " --steps 6 --out m%d.st --quiet", n), 0, "%s%s",
                     out, err_text);
        eval_lines(many, sizeof many);
        cr_expect(strstr(out, "ranks: ") || n == 1 ? 1 : 0, "%s", out);
        cr_expect_str_eq(many, one, "the evaluations on %d ranks", n);
        char a[16], b[16];
        snprintf(a, sizeof a, "t%d.st", n);
        snprintf(b, sizeof b, "m%d.st", n);
        expect_same_tensors(a, b);
    }
}

Test(mpi, a_resume_on_another_n_continues_bit_for_bit)
{
    cr_assert_eq(mpi(2, "train " CHAR " --steps 4 --out a.st --quiet"), 0, "%s", err_text);
    cr_assert_eq(mpi(4, "train " CHAR " --steps 8 --resume a.st --out b.st --quiet"), 0, "%s",
                 err_text);
    cr_assert_eq(bptt("train " CHAR " --steps 4 --threads 2 --out r.st --quiet"), 0, "%s",
                 err_text);
    cr_assert_eq(bptt("train " CHAR " --steps 8 --threads 4 --resume r.st --out s.st --quiet"),
                 0, "%s", err_text);
    expect_same_tensors("b.st", "s.st");
}

/* A classifier on a CSV file: 40 sequences of 3 steps of 2 features, the last 10 held out
 * and evaluated 3 at a time (4 slices, round-robin across the ranks). */
static void write_csv_model(void)
{
    char csv[8192];
    size_t k = 0;
    unsigned s = 7;
    for (int r = 0; r < 40; r++) {
        for (int c = 0; c < 6; c++) {
            s = s * 1103515245u + 12345u;
            k += (size_t)snprintf(csv + k, sizeof csv - k, "%.3f,", (double)(s >> 16 & 1023) / 512);
        }
        k += (size_t)snprintf(csv + k, sizeof csv - k, "%d\n", r % 3);
    }
    write_text(tmp("d.csv"), csv);
    write_text(tmp("csv.yaml"), "name: csv\nmodel:\n  layers:\n    - {name: g, type: gru, "
               "hidden: 8}\nloss: xent\ndata:\n  train: d.csv\n  valid_last: 10\n  features: 2\n"
               "  label: last\n  header: false\n  target: class\ntrain:\n  batch: 6\n"
               "  steps: 6\n  eval_every: 2\n  eval_batch: 3\n  lr: 0.01\n  seed: 3\n");
}

Test(mpi, a_data_files_evaluation_split_across_ranks_matches_one_process)
{
    write_csv_model();
    char one[4096], many[4096];
    cr_assert_eq(bptt("train csv.yaml --threads 2 --out t.st --quiet"), 0, "%s", err_text);
    eval_lines(one, sizeof one);
    cr_assert_eq(mpi(2, "train csv.yaml --out m.st --quiet"), 0, "%s", err_text);
    eval_lines(many, sizeof many);
    cr_expect(strstr(one, "eval  step 6"), "%s", one);
    cr_expect_str_eq(many, one);
    expect_same_tensors("t.st", "m.st");
}

/* A token data set, 40 sequences of 5 ids (r + t) % 4, with a 9 at row 33 alone: in
 * rank 1's half of the file, which rank 0 does not check (bptt_dist.h); a NaN-free
 * feature set with a NaN at row nan_row when nan_row >= 0. */
static void write_shard_sets(int nan_row)
{
    enum { N = 40, T = 5 };
    int32_t ids[N * T], cls[N];
    float x[N * T * 2];
    for (int r = 0; r < N; r++) {
        cls[r] = r % 2;
        for (int t = 0; t < T; t++) {
            ids[r * T + t] = (r + t) % 4;
            x[(r * T + t) * 2] = x[(r * T + t) * 2 + 1] = (float)((r + t) % 7) / 7;
        }
    }
    ids[33 * T + 2] = 9;
    if (nan_row >= 0)
        x[nan_row * T * 2 + 1] = NAN;
    bp_error err = {0};
    const char *names[2] = {"tok.safetensors", "feat.safetensors"};
    for (int k = 0; k < 2; k++) {
        bp_st_writer *w = bp_st_writer_new();
        bp_shape xs = k ? (bp_shape){3, {N, T, 2}} : (bp_shape){2, {N, T}};
        cr_assert_eq(bp_st_writer_add_raw(w, "x", k ? BP_DTYPE_F32 : BP_DTYPE_I32, xs,
                                          k ? (const void *)x : (const void *)ids, &err), BP_OK);
        cr_assert_eq(bp_st_writer_add_raw(w, "y", BP_DTYPE_I32, bp_shape1(N), cls, &err), BP_OK);
        cr_assert_eq(bp_st_writer_save(w, tmp(names[k]), &err), BP_OK, "%s", err.msg);
        bp_st_writer_free(w);
    }
    const char *train = "train:\n  batch: 6\n  steps: 4\n  eval_every: 2\n  lr: 0.01\n"
                        "  seed: 3\n";
    char text[1024];
    snprintf(text, sizeof text, "name: tok\nmodel:\n  layers:\n    - {name: e, type: embedding, "
             "size: 4}\n    - {name: g, type: gru, hidden: 8}\nloss: xent\ndata:\n  train: "
             "tok.safetensors\n  valid_last: 8\n%s", train);
    write_text(tmp("tok.yaml"), text);
    snprintf(text, sizeof text, "name: feat\nmodel:\n  layers:\n    - {name: g, type: gru, "
             "hidden: 8}\nloss: xent\ndata:\n  train: feat.safetensors\n  valid_last: 8\n%s",
             train);
    write_text(tmp("feat.yaml"), text);
}

Test(mpi, a_sharded_token_set_agrees_on_its_vocabulary_and_gives_the_bits_of_threads)
{
    write_shard_sets(-1);
    cr_assert_eq(bptt("train tok.yaml --threads 2 --out t.st --quiet"), 0, "%s", err_text);
    cr_assert_eq(mpi(2, "train tok.yaml --out m.st --quiet"), 0, "%s%s", out, err_text);
    expect_same_tensors("t.st", "m.st"); /* embedding [10, 4] on both ranks, not [4, 4] */
    cr_assert_eq(mpi(2, "train feat.yaml --out f.st --quiet"), 0, "%s%s", out, err_text);
    cr_assert_eq(bptt("train feat.yaml --threads 2 --out g.st --quiet"), 0, "%s", err_text);
    expect_same_tensors("f.st", "g.st");
}

Test(mpi, a_vocabulary_too_small_for_another_ranks_ids_is_named_by_their_place)
{
    /* the 9 lies in rank 1's rows: every rank says where, not rank 0's "go up to 9" */
    write_shard_sets(-1);
    cr_expect_eq(mpi(2, "train tok.yaml --set model.vocab=5 --out v.st --quiet"), 2, "%s%s",
                 out, err_text);
    cr_expect(strstr(err_text, "x[33, 2] is token 9, but the model's vocab is 5"), "%s",
              err_text);
    cr_expect(!strstr(err_text, "go up to"), "%s", err_text);
}

Test(mpi, bad_data_in_one_ranks_shard_is_named_on_every_rank_before_a_step)
{
    write_shard_sets(30); /* row 30: rank 1 of 2 checks rows [20, 40) */
    write_text(tmp("keep.st"), "precious");
    cr_expect_eq(mpi(2, "train feat.yaml --out keep.st --quiet"), 2, "%s%s", out, err_text);
    cr_expect(strstr(err_text, "rank 1 of 2: ") && strstr(err_text, "x[30, 0, 1] is nan"), "%s",
              err_text);
    cr_expect(!strstr(out, "step 1"), "%s", out);
    char kept[64];
    slurp(tmp("keep.st"), kept, sizeof kept);
    cr_expect_str_eq(kept, "precious");
}

Test(mpi, a_csv_files_error_is_rank_0s_on_every_rank)
{
    /* rank 0 alone reads a CSV file (docs/mpi.md); its parse error stops every rank */
    write_csv_model();
    write_text(tmp("d.csv"), "0.1,0.2,0.3,0.4,0.5,0.6,1\n0.1,0.2,oops,0.4,0.5,0.6,2\n");
    cr_expect_eq(mpi(2, "train csv.yaml --out e.st --quiet"), 2, "%s%s", out, err_text);
    cr_expect(strstr(err_text, "rank 0 of 2: ") && strstr(err_text, "d.csv:2:3"), "%s",
              err_text);
    cr_expect_eq(access(tmp("e.st"), F_OK), -1, "nothing written");
}

Test(mpi, a_non_finite_gradient_on_one_rank_stops_all_and_names_it)
{
    setenv("BPTT_MPI_FAULT", "nonfinite:1:5", 1); /* tools/dist_cli.c's test hook */
    int rc = mpi(2, "train " CHAR " --steps 9 --set train.checkpoint_every=2 --out g.st --quiet");
    unsetenv("BPTT_MPI_FAULT");
    cr_expect_eq(rc, 1, "%s%s", out, err_text);
    cr_expect(strstr(err_text, "step 5: rank 1 of 2: non-finite gradient"), "%s", err_text);
    bp_error err;
    bp_st_file *f = bp_st_load(tmp("g.st"), &err);
    cr_assert_not_null(f, "the last checkpoint survives: %s", err.msg);
    cr_expect_str_eq(bp_st_meta(f, "step"), "4");
    bp_st_free(f);
}

/* A long run on 2 ranks (env before mpirun), checkpoints every 20 steps to NAME.st;
 * once the first is there, rank 1 of it (found through /proc: no pgrep needed) gets
 * signal sig (then SIGKILL, should it still be there); waits up to 30 s for mpirun to
 * end. Its exit status in rc, its stderr in err_out; false when it did not end. */
static bool run_and_signal(const char *name, const char *env, const char *sig, char rc[16],
                           char *err_out, size_t n)
{
    char script[4096], cmd[512], f[64];
    snprintf(script, sizeof script,
             "cd '%s'\n"
             "%s %s -np 2 %s train " CHAR " --steps 1000000 --set train.eval_every=100000 "
             "--set train.checkpoint_every=20 --out '%s/%s.st' --quiet >%s.out 2>%s.err "
             "</dev/null &\n"
             "run=$!\n"
             "for i in $(seq 600); do [ -f %s.st ] && break; sleep 0.05; done\n"
             "for d in /proc/[0-9]*; do\n"
             "  tr '\\0' '\\n' <$d/cmdline 2>/dev/null | grep -qxF '%s/%s.st' || continue\n"
             "  tr '\\0' '\\n' <$d/environ 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1 "
             "&& kill -%s ${d#/proc/} && echo ${d#/proc/} >%s.pid\n"
             "done\n"
             "for i in $(seq 600); do kill -0 $run 2>/dev/null || break; sleep 0.05; done\n"
             "[ -s %s.pid ] && kill -9 $(cat %s.pid) 2>/dev/null\n"
             "if kill -0 $run 2>/dev/null; then kill -9 $run; echo hung >%s.rc; exit 1; fi\n"
             "wait $run; echo $? >%s.rc\n",
             dir, env, launcher(), BPTT, dir, name, name, name, name, dir, name, sig, name,
             name, name, name, name);
    snprintf(f, sizeof f, "%s.sh", name);
    write_text(tmp(f), script);
    snprintf(cmd, sizeof cmd, "bash '%s/%s.sh'", dir, name);
    bool ended = system(cmd) == 0;
    snprintf(f, sizeof f, "%s.rc", name);
    slurp(tmp(f), rc, 16);
    snprintf(f, sizeof f, "%s.err", name);
    slurp(tmp(f), err_out, n);
    return ended;
}

/* Rank 1 killed (SIGKILL) mid-run: every rank ends, mpirun fails within seconds naming the
 * rank, and the last checkpoint (rank 0's, written atomically) loads. */
Test(mpi, a_rank_killed_stops_every_rank_and_the_checkpoint_survives)
{
    char rc[16], err_out[4096];
    time_t t0 = time(NULL);
    cr_assert(run_and_signal("k", "", "9", rc, err_out, sizeof err_out),
              "mpirun did not end within 30 s of the kill");
    cr_expect_lt(time(NULL) - t0, 60);
    cr_expect_neq(atoi(rc), 0, "%s", err_out);
    cr_expect(strstr(err_out, "rank 1"), "mpirun names the rank: %s", err_out);
    cr_expect_eq(bptt("eval " CHAR " --weights k.st"), 0, "%s", err_text);
}

/* MPMD: rank 1 with another seed, so other initial weights: refused before step 1. */
Test(mpi, ranks_with_different_models_are_refused_at_the_start)
{
    int rc = mpi(1, "train " CHAR " --steps 3 --out x.st --quiet : -np 1 %s train " CHAR
                 " --steps 3 --seed 9 --out x.st --quiet", BPTT);
    cr_expect_eq(rc, 2, "%s%s", out, err_text);
    cr_expect(strstr(err_text, "rank 1's model differs from rank 0's"), "%s", err_text);
    cr_expect_neq(access(tmp("x.st"), F_OK), 0, "nothing written");
}

/* Rank 1 stopped (SIGSTOP) mid-run: rank 0 gives up after BPTT_MPI_TIMEOUT seconds,
 * naming the step and the rank, every rank ends, the last checkpoint loads. */
Test(mpi, a_rank_that_hangs_is_named_after_the_timeout)
{
    char rc[16], err_out[8192];
    cr_assert(run_and_signal("h", "BPTT_MPI_TIMEOUT=2", "STOP", rc, err_out, sizeof err_out),
              "mpirun did not end within 30 s of the stop");
    cr_expect_neq(atoi(rc), 0, "%s", err_out);
    cr_expect(strstr(err_out, ": mpi: rank 1 of 2 has not answered in 2 s"), "%s", err_out);
    cr_expect(strstr(err_out, "bptt train: step "), "the step is named: %s", err_out);
    cr_expect_eq(bptt("eval " CHAR " --weights h.st"), 0, "%s", err_text);
}
