/* dist_cli.h — bptt under mpirun (dist_cli.c): MPI's start and end around a command,
 * rank 0 alone printing and writing. Without MPI in the build, every process is rank 0
 * of 1, and a run under a launcher of several processes is refused. */
#ifndef BPTT_DIST_CLI_H
#define BPTT_DIST_CLI_H

#include "bptt_dist.h"

/* The ranks of this run when `train` or `bench` runs under mpirun (NULL otherwise). */
extern bp_dist *cli_dist;
/* This process's rank: 0 when alone. Others print no progress and write no file. */
extern int cli_rank;

/* Before a command runs (main.c; argv[0] the command): under a launcher
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set) and for train or bench mpi, MPI_Init
 * and cli_dist; on ranks other than 0 stdout goes to /dev/null. A rank waits at most
 * BPTT_MPI_TIMEOUT seconds (default 600) for another's status in a step
 * (bp_dist_set_timeout). -1, printed, when that fails. */
int cli_dist_start(int argc, char **argv);
/* After it, with its exit status: a failure ends every rank (MPI_Abort: no rank is left
 * waiting in a collective call), a success finalizes MPI. Returns rc. */
int cli_dist_end(int rc);
/* train: tr joins the ranks (the model's hash compared across them); the exit status,
 * printed. EXIT_OK without cli_dist. */
int cli_dist_attach(const char *cmd, bp_trainer *tr, const bp_model_config *c);
/* The largest v across the ranks (bench mpi's critical path); v without cli_dist. */
double cli_dist_max(double v);

#endif
