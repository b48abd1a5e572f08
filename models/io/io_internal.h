/* io_internal.h — what the file-format readers and writers of models/io/ share
 * (internal to the folder). */
#ifndef BPTT_IO_INTERNAL_H
#define BPTT_IO_INTERNAL_H

#include "bptt_graph.h"

/* "path: message" into err; returns st (mapped_file.c). */
bp_status bp_io_fail(bp_error *err, bp_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
