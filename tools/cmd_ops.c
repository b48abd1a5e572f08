/* cmd_ops.c — `bptt ops`: every registered op with its inputs, attributes and formula. */
#include "cli.h"

#include <stdio.h>

int cmd_ops(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("%-16s %-3s %-12s %s\n", "op", "in", "attributes", "formula");
    for (int i = 0; i < bp_op_count(); i++) {
        const bp_op *op = bp_op_at(i);
        char attrs[64] = "-";
        int used = 0;
        for (int a = 0; a < op->n_attr; a++)
            used += snprintf(attrs + used, sizeof attrs - (size_t)used, a ? ",%s" : "%s",
                             op->attr_names[a]);
        printf("%-16s %-3d %-12s %s\n", op->name, op->n_in, attrs, op->formula);
    }
    return EXIT_OK;
}
