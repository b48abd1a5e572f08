/* net_worker.h — a net for another thread, internal to the library (the trainer's
 * threads, models/train/parallel.c). */
#ifndef BPTT_NET_WORKER_H
#define BPTT_NET_WORKER_H

#include "bptt_layers.h"

/* A net that shares primary's definition (its spec and parameter leaves, read only) and
 * owns only its recording scratch: forward, backward and evaluation on it record the
 * same ops as on primary, on a tape of its own. Its parameters are primary's leaves: bind
 * the tape to the thread's own leaves (bp_tape_bind_params, graph/bind.h) for backward to
 * accumulate apart. Free it (bp_net_free) before primary. NULL and err on BP_ERR_NOMEM. */
bp_net *net_new_worker(const bp_net *primary, bp_error *err);

#endif
