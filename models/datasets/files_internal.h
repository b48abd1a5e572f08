/* files_internal.h — data sets read from files: one file's arrays (file_source.c) and the
 * set of training and validation rows made of them (task_files.c). Not installed. */
#ifndef BPTT_FILES_INTERNAL_H
#define BPTT_FILES_INTERNAL_H

#include "bptt_arrays.h"
#include "task_internal.h"

/* One set of sequences on disk, as arrays read in place. */
typedef struct file_source {
    char path[BP_TASK_PATH_MAX];   /* the x file (names it in errors) */
    char y_path[BP_TASK_PATH_MAX]; /* the file holding y (the same but for .npy) */
    bp_st_file *st;
    bp_npy *npy[3];                /* x, y, lengths */
    bp_csv_set csv;
    bool is_csv;
    bool inputs_only;              /* predict: y not read (zero targets of target, O) */
    int vocab;                     /* > 0: token ids must be below it (bp_file_set_opts) */
    bp_array x, y;                 /* views (CSV: over csv.x and own_y) */
    float *own_y;                  /* CSV: the targets, class ids or values */
    int *len;                      /* [N]: each sequence's steps; NULL: all have T */
    long N;
    long lo, hi;                   /* the rows of x checked: all, or a shard's (bptt_tasks.h) */
    int T, I;                      /* steps, features per step (1 for tokens) */
    bool tokens;
    bp_target_kind target;
    int O;                         /* values per target, or classes (largest id + 1) */
    double max_token;              /* tokens: the largest id of rows [lo, hi)... */
    char max_token_at[96];         /* ...and where ("x[3, 7]") */
    double max_class;              /* class targets: the largest id of all rows... */
    char max_class_at[96];         /* ...and where ("y[3]", "y[3, 5]") */
} file_source;

/* Steps of row r. */
static inline int file_source_len(const file_source *s, long r)
{
    return s->len ? s->len[r] : s->T;
}

/* Open src and check its arrays: shapes, lengths, every value (see bptt_tasks.h). CSV
 * class labels stay as numbers until file_source_map_classes; a CSV file already parsed
 * (csv_share) is taken from *parsed (then zeroed) instead of read. On failure the source
 * is left for file_source_close. */
bp_status file_source_open(file_source *s, const bp_file_source *src, const bp_file_set_opts *o,
                           bp_csv_set *parsed, bp_error *err);
/* Is path a CSV data file (by its extension, as file_source_open tells the formats)? */
bool file_source_is_csv(const char *path);
/* The CSV reader's options a data set's give. */
void file_source_csv_opts(const bp_file_set_opts *o, bp_csv_opts *co);

/* csv_share.c: the CSV file at path parsed on shard 0 and shared with every shard through
 * o->share (bptt_tasks.h) into *out; every shard returns shard 0's error when its parse
 * fails, or its own (out of memory) after taking part in every broadcast. */
bp_status csv_share(const bp_file_set_opts *o, const char *path, bp_csv_set *out,
                    bp_error *err);
void file_source_close(file_source *s);
/* CSV classes: the label values (sorted, distinct) of the training source... */
bp_status file_source_labels(const file_source *s, double **values, int *n, bp_error *err);
/* ...and every row's label as its id among them; a label not among them is an error
 * naming file:row. */
bp_status file_source_map_classes(file_source *s, const double *values, int n, bp_error *err);
/* Rows of s into b's rows [at, at + n): x, y and lengths, converted to bp_real. */
void file_source_gather(const file_source *s, const long *rows, int n, bp_batch *b, int at);

#endif
