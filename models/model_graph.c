/* model_graph.c — the graph form of a model file. */
#include "model_config_internal.h"

bp_status bp_model_read_graph(const bp_yd_node *graph, bp_model_config *c, bp_error *err)
{
    (void)c;
    return bp_yd_fail(graph, BP_ERR_VALUE, err, "the graph form is not implemented yet");
}
