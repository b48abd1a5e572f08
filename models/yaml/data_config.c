/* data_config.c — the model file's data: section. A built-in task (task: adding | copy |
 * chars, with its steps and text path) or data files (train: and a validation set), with
 * the CSV layout's settings. Paths are relative to the model file. docs/models.md lists
 * every key. */
#include "model_config_internal.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>

static const char *const data_keys[] = {"task",  "steps",  "path",   "train",  "valid",
                                        "valid_split", "valid_last", "features", "label",
                                        "header", "target"};
/* the built-in tasks' names and settings, from their list (bptt_tasks.h) */
#define TASK_NAME(id, name, T, lo, loss) name,
#define TASK_T(id, name, T, lo, loss) T,
#define TASK_LO(id, name, T, lo, loss) lo,
static const char *const tasks[] = {BP_TASK_LIST(TASK_NAME)};
static const int default_T[] = {BP_TASK_LIST(TASK_T)}, least_T[] = {BP_TASK_LIST(TASK_LO)};
static const char *const source_keys[] = {"x", "y", "lengths"};
static const char *const label_sides[] = {"first", "last"};
static const char *const headers[] = {"auto", "false", "true"};
static const char *const target_kinds[] = {"class", "value"};

bp_status bp_model_path(const bp_yd_node *n, const char *model_path, char *dst, size_t size,
                        bp_error *err)
{
    const char *text;
    TRY(bp_yd_string(n, &text, err));
    if (!text[0])
        return bp_yd_fail(n, BP_ERR_VALUE, err, "an empty path");
    if (text[0] == '/' || n->file[0] == '-') /* absolute, or given by --set: as is */
        return bp_model_copy_text(n, text, dst, size, err);
    char dir_buf[BP_PATH_MAX];
    snprintf(dir_buf, sizeof dir_buf, "%s", model_path);
    const char *dir = dirname(dir_buf);
    if (strlen(dir) + 1 + strlen(text) >= size)
        return bp_yd_fail(n, BP_ERR_VALUE, err, "the path '%s' is too long", text);
    snprintf(dst, size, "%s/%s", dir, text);
    return BP_OK;
}

/* train: / valid: -- a file (.safetensors, .csv), or {x, y, lengths} NumPy files. */
static bp_status read_source(const bp_yd_node *n, const char *model_path, bp_file_source *out,
                             bp_error *err)
{
    if (n->kind == BP_YD_SCALAR)
        return bp_model_path(n, model_path, out->x, sizeof out->x, err);
    TRY(bp_yd_expect(n, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(n, source_keys, 3, err));
    const bp_yd_node *x, *y, *l = bp_yd_get(n, "lengths");
    TRY(bp_yd_require(n, "x", &x, err));
    TRY(bp_yd_require(n, "y", &y, err));
    TRY(bp_model_path(x, model_path, out->x, sizeof out->x, err));
    TRY(bp_model_path(y, model_path, out->y, sizeof out->y, err));
    if (l)
        TRY(bp_model_path(l, model_path, out->lengths, sizeof out->lengths, err));
    return BP_OK;
}

/* The keys that only one kind of data takes. */
static bp_status only_for(const bp_yd_node *d, const char *const keys[], int n, const char *what,
                          bp_error *err)
{
    for (int i = 0; i < n; i++) {
        const bp_yd_node *k = bp_yd_get(d, keys[i]);
        if (k)
            return bp_yd_fail(k, BP_ERR_VALUE, err, "'%s' is for %s", keys[i], what);
    }
    return BP_OK;
}

static bp_status read_files(const bp_yd_node *d, const char *model_path, bp_file_set_opts *o,
                            bp_error *err)
{
    static const char *const task_only[] = {"steps", "path"};
    TRY(only_for(d, task_only, 2, "the built-in tasks; a data file has its own steps", err));
    TRY(read_source(bp_yd_get(d, "train"), model_path, &o->train, err));
    const bp_yd_node *v = bp_yd_get(d, "valid"), *vs = bp_yd_get(d, "valid_split"),
                     *vl = bp_yd_get(d, "valid_last");
    if ((v != NULL) + (vs != NULL) + (vl != NULL) > 1)
        return bp_yd_fail(v ? v : vs, BP_ERR_VALUE, err, "give one of 'valid' (a file), "
                          "'valid_split' (a fraction) and 'valid_last' (the last rows)");
    if (v)
        TRY(read_source(v, model_path, &o->valid, err));
    TRY(bp_yd_get_double(d, "valid_split", 0, 0, 0.99, &o->valid_fraction, err));
    long long last;
    TRY(bp_yd_get_int(d, "valid_last", 0, 1, 0x7fffffff, &last, err));
    o->valid_last = (int)last;
    long long features;
    TRY(bp_yd_get_int(d, "features", 1, 1, BP_LAYER_MAX_SIZE, &features, err));
    o->csv_features = (int)features;
    int side, header, target;
    TRY(bp_yd_get_enum(d, "label", 0, label_sides, 2, &side, err));
    TRY(bp_yd_get_enum(d, "header", 0, headers, 3, &header, err));
    TRY(bp_yd_get_enum(d, "target", 0, target_kinds, 2, &target, err));
    o->csv_label_last = side == 1;
    o->csv_header = header - 1;
    o->csv_values = target == 1;
    return BP_OK;
}

bp_status bp_model_read_data(const bp_yd_node *d, const char *model_path, bp_data_config *out,
                             bp_error *err)
{
    TRY(bp_yd_expect(d, BP_YD_MAP, err));
    TRY(bp_yd_check_keys(d, data_keys, COUNT(data_keys), err));
    bp_file_set_opts_default(&out->files);
    const bp_yd_node *task_node = bp_yd_get(d, "task"), *train = bp_yd_get(d, "train");
    if (!task_node && !train)
        return bp_yd_fail(d, BP_ERR_VALUE, err, "'data' needs 'task' (a built-in task: adding, "
                          "copy, chars) or 'train' (a data file)");
    if (task_node && train)
        return bp_yd_fail(train, BP_ERR_VALUE, err, "'train' names a data file; 'task' a "
                          "built-in task: give one");
    if (train) {
        snprintf(out->task, sizeof out->task, "%s", tasks[BP_TASK_FILES]);
        return read_files(d, model_path, &out->files, err);
    }
    static const char *const file_only[] = {"valid", "valid_split", "valid_last", "features",
                                            "label", "header", "target"};
    TRY(only_for(d, file_only, COUNT(file_only), "data files (data.train)", err));
    int task;
    TRY(bp_yd_enum(task_node, tasks, BP_TASK_FILES, &task, err)); /* the built-in ones */
    snprintf(out->task, sizeof out->task, "%s", tasks[task]);
    long long steps;
    TRY(bp_yd_get_int(d, "steps", default_T[task], least_T[task], BP_TASK_MAX_T, &steps, err));
    out->steps = (int)steps;
    const bp_yd_node *p = bp_yd_get(d, "path");
    if (task == BP_TASK_CHARS && !p)
        return bp_yd_fail(d, BP_ERR_VALUE, err,
                          "the chars task needs 'path' (a text file; or --set data.path=FILE)");
    if (task != BP_TASK_CHARS && p)
        return bp_yd_fail(p, BP_ERR_VALUE, err, "'path' is for the chars task; '%s' makes its "
                                                "own data", tasks[task]);
    if (p)
        TRY(bp_model_path(p, model_path, out->path, sizeof out->path, err));
    return BP_OK;
}
