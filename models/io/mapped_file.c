/* mapped_file.c — a regular file mapped read-only, and reading the elements of an
 * array held in such bytes (little-endian, possibly unaligned). */
#include "bptt_arrays.h"
#include "io_internal.h"
#include "st_bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

bp_status bp_io_fail(bp_error *err, bp_status st, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bp_status s = bp_error_vset(err, st, path, fmt, ap);
    va_end(ap);
    return s;
}

struct bp_mapped_file {
    char *path;
    const unsigned char *data;
    size_t size;
    bool mapped; /* false for an empty file (mmap cannot map 0 bytes) or one read */
};

/* What an empty file's data points to. */
static const unsigned char empty_bytes[1];

double bp_array_get(const bp_array *a, size_t i)
{
    switch (a->dtype) {
    case BP_DTYPE_F32: return (double)st_f32(a->data + 4 * i);
    case BP_DTYPE_F64: return st_f64(a->data + 8 * i);
    case BP_DTYPE_I32: return (double)(int32_t)st_le32(a->data + 4 * i);
    case BP_DTYPE_I64: return (double)(int64_t)st_le64(a->data + 8 * i);
    }
    return 0;
}

/* Read the file instead, where its file system cannot map it. */
static bp_status read_fd(bp_mapped_file *m, int fd, size_t size, bp_error *err)
{
    unsigned char *buf = malloc(size);
    if (!buf)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory reading %zu bytes", m->path,
                            size);
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, buf + done, size - done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return bp_error_set(err, BP_ERR_IO, "%s: cannot read: %s", m->path,
                                r < 0 ? strerror(errno) : "the file shrank while it was read");
        }
        done += (size_t)r;
    }
    m->data = buf;
    m->size = size;
    return BP_OK;
}

/* Map the open regular file fd of the given size into m. */
static bp_status map_fd(bp_mapped_file *m, int fd, off_t size, bp_error *err)
{
    if (size < 0 || (uintmax_t)size > SIZE_MAX)
        return bp_error_set(err, BP_ERR_NOMEM, "%s: the file is too large to map (%jd bytes)",
                            m->path, (intmax_t)size);
    if (size == 0) {
        m->data = empty_bytes;
        return BP_OK;
    }
    void *p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED && errno == ENODEV)
        return read_fd(m, fd, (size_t)size, err);
    if (p == MAP_FAILED)
        return bp_error_set(err, errno == ENOMEM ? BP_ERR_NOMEM : BP_ERR_IO,
                            "%s: cannot map: %s", m->path, strerror(errno));
    m->data = p;
    m->size = (size_t)size;
    m->mapped = true;
    return BP_OK;
}

bp_mapped_file *bp_map_file(const char *path, bp_error *err)
{
    bp_mapped_file *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(path))) {
        free(m);
        bp_error_set(err, BP_ERR_NOMEM, "%s: out of memory", path);
        return NULL;
    }
    int fd = bp_file_open_read(path, err);
    bp_status s = fd < 0 ? BP_ERR_IO : BP_OK;
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0)
        s = bp_error_set(err, BP_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (fd >= 0)
        s = map_fd(m, fd, st.st_size, err);
    if (fd >= 0)
        close(fd); /* the mapping stays valid without the descriptor */
    if (s != BP_OK) {
        bp_unmap_file(m);
        return NULL;
    }
    return m;
}

const unsigned char *bp_mapped_data(const bp_mapped_file *m)
{
    return m->data;
}

size_t bp_mapped_size(const bp_mapped_file *m)
{
    return m->size;
}

const char *bp_mapped_path(const bp_mapped_file *m)
{
    return m->path;
}

void bp_unmap_file(bp_mapped_file *m)
{
    if (!m)
        return;
    if (m->mapped)
        munmap((void *)m->data, m->size);
    else if (m->data != empty_bytes)
        free((void *)m->data);
    free(m->path);
    free(m);
}
