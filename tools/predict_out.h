/* predict_out.h — `bptt predict`'s results and their files: .safetensors (probs or values,
 * class, lengths), .npy (the outputs; classifiers also STEM.class.npy) or .csv (one row per
 * sequence, or per step within it for per-step models). */
#ifndef BPTT_PREDICT_OUT_H
#define BPTT_PREDICT_OUT_H

#include "bptt_models.h"

typedef struct predict_result {
    long N;
    int T, O;
    bool per_step;  /* outputs [N, T, O], else [N, O] */
    bool classes;   /* softmax probabilities (and the arg-max), else values */
    bp_real *out;
    int *len;       /* [N] each sequence's steps */
} predict_result;

bp_status predict_result_init(predict_result *r, bp_trainer *tr, const bp_task *in, bp_error *err);
void predict_result_free(predict_result *r);
/* Does path's extension name a format predict writes (.safetensors, .npy, .csv)? */
bool predict_format_known(const char *path);
/* Class k's name for a column or a row: its label value (%.*g with digits), or "id<k>" for
 * a class no label of the data names (a model with more classes than a CSV's labels). */
void predict_class_name(const bp_task *task, int k, int digits, char *buf, size_t n);
/* Write r atomically in the format of path's extension; class ids are written as the
 * model's class label values (a CSV data set's labels). */
bp_status predict_write(const predict_result *r, const bp_task *task, const char *path,
                        bp_error *err);

#endif
