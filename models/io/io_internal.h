/* io_internal.h — what the file-format readers and writers of models/io/ share
 * (internal to the folder). */
#ifndef BPTT_IO_INTERNAL_H
#define BPTT_IO_INTERNAL_H

#include "bptt_graph.h"

/* "path: message" into err; returns st (mapped_file.c). */
bp_status bp_io_fail(bp_error *err, bp_status st, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The longest file name a writer takes (NAME_MAX on Linux). */
#define BP_IO_NAME_MAX 255

/* May a writer replace path (file_check.c)? Absent or a regular file, a file name of at
 * most BP_IO_NAME_MAX bytes, not a directory; BP_ERR_IO naming the path otherwise. Every
 * writer calls it before making its temporary file, and bp_file_check_output too. */
bp_status bp_io_check_dest(const char *path, bp_error *err);
/* The temporary file beside path, "DIR/.NAME.tmp-XXXXXX" (NAME cut at 200 bytes so that
 * it fits), for mkstemp; -1 when it does not fit in cap. */
int bp_io_temp_name(const char *path, char *tmp, size_t cap);

#endif
