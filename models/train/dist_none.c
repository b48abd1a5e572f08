/* dist_none.c — bptt_dist.h in a build without MPI (BPTT_MPI off): nothing to join. */
#include "dist.h"

bool bp_dist_available(void) { return false; }

bp_dist *bp_dist_new(bp_error *err)
{
    bp_error_set(err, BP_ERR_VALUE, "mpi: bptt was built without MPI (cmake -DBPTT_MPI=ON, "
                 "with libopenmpi-dev installed)");
    return NULL;
}

void bp_dist_free(bp_dist *d) { (void)d; }
int bp_dist_rank(const bp_dist *d) { (void)d; return 0; }
int bp_dist_size(const bp_dist *d) { (void)d; return 1; }

bp_dist_times bp_dist_take_times(bp_dist *d)
{
    (void)d;
    return (bp_dist_times){0};
}

void bp_dist_set_timeout(bp_dist *d, double seconds)
{
    (void)d, (void)seconds;
}

void bp_dist_inject_nonfinite(bp_dist *d, int rank, long step)
{
    (void)d, (void)rank, (void)step;
}

bp_trainer *bp_trainer_new_dist(const bp_model_config *c, bp_dist *d, bp_error *err)
{
    (void)d; /* NULL: no dist can be made without MPI */
    return bp_trainer_new(c, err);
}

bp_status bp_trainer_set_dist(bp_trainer *tr, bp_dist *d, uint64_t extra, bp_error *err)
{
    (void)tr, (void)d, (void)extra;
    return bp_error_set(err, BP_ERR_VALUE, "mpi: bptt was built without MPI");
}

/* never reached: no trainer has a dist without MPI */
bp_status bp_dist_backward(bp_trainer *tr, const bp_batch *b, double *loss, bp_error *err)
{
    (void)tr, (void)b, (void)loss;
    return bp_error_set(err, BP_ERR_VALUE, "mpi: bptt was built without MPI");
}

bp_status bp_dist_eval(bp_trainer *tr, bp_net_eval *out, bp_error *err)
{
    (void)tr, (void)out;
    return bp_error_set(err, BP_ERR_VALUE, "mpi: bptt was built without MPI");
}
