/* yaml_doc.c — a YAML file read into a bounded tree: the document, its arena, errors at
 * a place, and loading a file or a string. The tree is built in yaml_build.c, --set
 * overrides in yaml_set.c, accessors in yaml_access.c. */
#include "yaml_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void *bp_yd_alloc(bp_yd_doc *d, size_t n)
{
    void *p = bp_arena_alloc(&d->arena, n ? n : 1);
    if (p)
        memset(p, 0, n);
    return p;
}

char *bp_yd_strndup(bp_yd_doc *d, const char *s, size_t n)
{
    char *p = bp_yd_alloc(d, n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

void bp_yd_free(bp_yd_doc *doc)
{
    if (!doc)
        return;
    bp_arena_free(&doc->arena);
    free(doc->file);
    free(doc);
}

const bp_yd_node *bp_yd_root(const bp_yd_doc *doc)
{
    return doc->root;
}

const char *bp_yd_file(const bp_yd_doc *doc)
{
    return doc->file;
}

bp_status bp_yd_fail_at(bp_error *err, bp_status st, const char *file, size_t line, size_t col,
                        const char *fmt, ...)
{
    char at[1280]; /* a path of up to BP_PATH_MAX bytes, a line and a column */
    snprintf(at, sizeof at, "%s:%zu:%zu", file, line, col);
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(err, st, at, fmt, ap);
    va_end(ap);
    return s;
}

static bp_yd_doc *new_doc(const char *name, const bp_yd_limits *lim, bp_error *err)
{
    bp_yd_doc *d = calloc(1, sizeof *d);
    if (!d || !(d->file = strdup(name))) {
        free(d);
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    d->lim = lim ? *lim
                 : (bp_yd_limits){BP_YD_MAX_BYTES, BP_YD_MAX_DEPTH, BP_YD_MAX_NODES};
    return d;
}

bp_yd_doc *bp_yd_load_string(const char *name, const char *text, size_t len,
                             const bp_yd_limits *lim, bp_error *err)
{
    bp_error local;
    if (!err)
        err = &local;
    bp_yd_doc *d = new_doc(name, lim, err);
    if (!d)
        return NULL;
    bp_status s = BP_OK;
    if (len > d->lim.max_bytes)
        s = bp_yd_fail_at(err, BP_ERR_PARSE, name, 1, 1,
                    "the file is %zu bytes, larger than the limit of %zu bytes", len,
                    d->lim.max_bytes);
    else
        s = bp_yd_build(d, d->file, text, len, &d->root, err);
    if (s == BP_OK && (!d->root || bp_yd_is_null(d->root))) {
        bool blank = true;
        for (size_t i = 0; i < len && blank; i++)
            blank = strchr(" \t\r\n", text[i]) != NULL;
        s = bp_yd_fail_at(err, BP_ERR_PARSE, name, 1, 1, "%s",
                    blank ? "the file is empty"
                          : "the file holds no YAML content (only comments or a null document)");
    }
    if (s != BP_OK) {
        bp_yd_free(d);
        return NULL;
    }
    return d;
}

bp_yd_doc *bp_yd_load_file(const char *path, const bp_yd_limits *lim, bp_error *err)
{
    size_t cap = lim ? lim->max_bytes : BP_YD_MAX_BYTES;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        bp_error_set(err, BP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    bp_status s = BP_OK;
    if (fstat(fd, &st) != 0)
        s = bp_error_set(err, BP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        s = bp_yd_fail_at(err, BP_ERR_PARSE, path, 1, 1, "is a directory, not a YAML file");
    else if (!S_ISREG(st.st_mode))
        s = bp_yd_fail_at(err, BP_ERR_PARSE, path, 1, 1, "is not a regular file");
    else if ((uint64_t)st.st_size > cap)
        s = bp_yd_fail_at(err, BP_ERR_PARSE, path, 1, 1,
                    "the file is %llu bytes, larger than the limit of %zu bytes",
                    (unsigned long long)st.st_size, cap);
    else if (!(text = malloc(cap + 1)))
        s = bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
    while (s == BP_OK && len <= cap) { /* read to the end, or one byte past the cap */
        ssize_t r = read(fd, text + len, cap + 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            s = bp_error_set(err, BP_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        else if (r == 0)
            break;
        else
            len += (size_t)r;
    }
    close(fd);
    if (s == BP_OK && len > cap)
        s = bp_yd_fail_at(err, BP_ERR_PARSE, path, 1, 1, "the file is larger than the limit of %zu bytes",
                    cap);
    bp_yd_doc *d = s == BP_OK ? bp_yd_load_string(path, text, len, lim, err) : NULL;
    free(text);
    return d;
}
