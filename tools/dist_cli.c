/* dist_cli.c — see dist_cli.h. */
#include "dist_cli.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef BPTT_MPI
#include <mpi.h>
#endif

bp_dist *cli_dist;
int cli_rank;

/* The launcher's count of processes: 0 when not under one. */
static int launched_size(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        if (v && atoi(v) > 0)
            return atoi(v);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

int cli_dist_start(int argc, char **argv)
{
    const char *command = argv[0];
    bool bench = !strcmp(command, "bench") && argc > 1 && !strcmp(argv[1], "mpi");
    if (strcmp(command, "train") && !bench)
        return 0;
    int size = launched_size();
    if (size == 0)
        return 0;
#ifdef BPTT_MPI
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        cli_error(command, "mpi: MPI_Init failed");
        return -1;
    }
    bp_error err;
    if (!(cli_dist = bp_dist_new(&err))) {
        cli_error(command, "%s", err.msg);
        MPI_Abort(MPI_COMM_WORLD, EXIT_RUNTIME);
        return -1;
    }
    cli_rank = bp_dist_rank(cli_dist);
    /* a rank that hangs fails the step on the others (dist_cli.h) */
    const char *t = getenv("BPTT_MPI_TIMEOUT");
    bp_dist_set_timeout(cli_dist, t ? atof(t) : 600);
    if (cli_rank != 0 && !freopen("/dev/null", "w", stdout)) {
        cli_error(command, "rank %d: cannot silence stdout", cli_rank);
        return -1;
    }
    return 0;
#else
    if (size > 1) {
        cli_error(command, "run under a launcher of %d processes, but this bptt was built "
                  "without MPI: each would train alone and write the same files (build with "
                  "cmake -DBPTT_MPI=ON, libopenmpi-dev installed: docs/mpi.md)", size);
        return -1;
    }
    return 0;
#endif
}

int cli_dist_end(int rc)
{
#ifdef BPTT_MPI
    if (!cli_dist)
        return rc;
    if (rc != EXIT_OK && bp_dist_size(cli_dist) > 1) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    bp_dist_free(cli_dist);
    cli_dist = NULL;
    MPI_Finalize();
#endif
    return rc;
}

/* BPTT_MPI_FAULT=nonfinite:RANK:STEP — the test of a non-finite gradient on one rank. */
static void test_fault(void)
{
    const char *f = getenv("BPTT_MPI_FAULT");
    int rank;
    long step;
    if (f && sscanf(f, "nonfinite:%d:%ld", &rank, &step) == 2)
        bp_dist_inject_nonfinite(cli_dist, rank, step);
}

int cli_dist_attach(const char *cmd, bp_trainer *tr, const bp_model_config *c)
{
    if (!cli_dist)
        return EXIT_OK;
    bp_error err;
    if (bp_trainer_set_dist(tr, cli_dist, c->hash, &err) != BP_OK) {
        cli_error(cmd, "%s", err.msg);
        return err.status == BP_ERR_VALUE ? EXIT_USAGE : EXIT_RUNTIME;
    }
    test_fault();
    return EXIT_OK;
}

double cli_dist_max(double v)
{
#ifdef BPTT_MPI
    if (cli_dist)
        MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
#endif
    return v;
}
