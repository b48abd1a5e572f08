/* forward.h — an op's forward made as bp_apply makes it, for a node made off the tape
 * (layers/projection.c's cache of an input product): the same bits as the node the tape
 * would record, whichever way the tape makes it (a matmul by a parameter: defer.h).
 * Internal to the library. */
#ifndef BPTT_FORWARD_H
#define BPTT_FORWARD_H

#include "bptt_graph.h"

/* n->value = n->op's forward of n->in; n's shape and size set, its value allocated. */
void bp_tape_forward(bp_tape *t, bp_node *n);

#endif
