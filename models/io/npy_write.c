/* npy_write.c — writing NumPy .npy files (format 1.0) atomically: a temporary file in
 * the same directory, fsync, rename over the path, fsync of the directory. The header
 * is the one numpy writes, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"
 * padded with spaces and a newline so that the data starts at a multiple of 64. */
#include "bptt_arrays.h"
#include "io_internal.h"
#include "st_bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define fail bp_io_fail /* "path: message" */

/* The header numpy writes: the dict, spaces, '\n', the whole prefix a multiple of 64. */
static size_t build_header(unsigned char *b, size_t cap, bp_dtype dt, bp_shape sh)
{
    static const char *const descr[] = {"<f4", "<f8", "<i4", "<i8"}; /* bp_dtype's order */
    char dims[96] = "";
    size_t k = 0;
    for (int i = 0; i < sh.ndim; i++)
        k += (size_t)snprintf(dims + k, sizeof dims - k, i ? ", %d" : "%d", sh.dim[i]);
    if (sh.ndim == 1)
        snprintf(dims + k, sizeof dims - k, ",");
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    int len = snprintf((char *)b + 10, cap - 10,
                       "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr[dt], dims);
    size_t n = 10 + (size_t)len;
    while ((n + 1) % 64)
        b[n++] = ' ';
    b[n++] = '\n';
    b[8] = (unsigned char)((n - 10) & 0xff);
    b[9] = (unsigned char)((n - 10) >> 8);
    return n;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? errno : EIO;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* The header, then the elements converted from host to little-endian order in chunks. */
static int write_npy(int fd, bp_dtype dt, bp_shape sh, size_t size, const unsigned char *src)
{
    enum { CHUNK = 1 << 16 };
    unsigned char *chunk = malloc(CHUNK);
    if (!chunk)
        return ENOMEM;
    size_t w = bp_dtype_size(dt), per = CHUNK / w;
    int e = write_all(fd, chunk, build_header(chunk, CHUNK, dt, sh));
    for (size_t i = 0; i < size && !e; i += per) {
        size_t m = size - i < per ? size - i : per;
        for (size_t j = 0; j < m; j++) {
            const unsigned char *p = src + (i + j) * w;
            if (w == 4) {
                uint32_t u;
                memcpy(&u, p, 4);
                st_put32(chunk + 4 * j, u);
            } else {
                uint64_t u;
                memcpy(&u, p, 8);
                st_put64(chunk + 8 * j, u);
            }
        }
        e = write_all(fd, chunk, m * w);
    }
    free(chunk);
    return e;
}

static bp_status check_args(const char *path, bp_dtype dt, bp_shape sh, const void *data,
                            size_t *size, bp_error *err)
{
    if (dt < BP_DTYPE_F32 || dt > BP_DTYPE_I64)
        return fail(err, BP_ERR_VALUE, path, "cannot write: unknown dtype %d", (int)dt);
    if (sh.ndim < 0 || sh.ndim > BP_MAX_DIMS)
        return fail(err, BP_ERR_SHAPE, path, "cannot write: %d dimensions (0 to %d)", sh.ndim,
                    BP_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < sh.ndim; i++) {
        if (sh.dim[i] < 0)
            return fail(err, BP_ERR_SHAPE, path, "cannot write: dimension %d is negative", i);
        n *= (size_t)sh.dim[i];
        if (n > BP_MAX_ELEMENTS)
            return fail(err, BP_ERR_SHAPE, path, "cannot write: more than 2^31 elements");
    }
    if (n > 0 && !data)
        return fail(err, BP_ERR_VALUE, path, "cannot write: no data");
    *size = n;
    return BP_OK;
}

bp_status bp_npy_save(const char *path, bp_dtype dtype, bp_shape shape, const void *data,
                      bp_error *err)
{
    size_t size = 0;
    bp_status s = check_args(path, dtype, shape, data, &size, err);
    if (s != BP_OK)
        return s;
    if ((s = bp_io_check_dest(path, err)) != BP_OK)
        return s;
    struct stat st;
    bool exists = stat(path, &st) == 0;
    const char *slash = strrchr(path, '/');
    size_t cap = strlen(path) + 32;
    char *tmp = malloc(cap);
    if (!tmp)
        return fail(err, BP_ERR_NOMEM, path, "out of memory");
    int dl = slash ? (int)(slash - path) + 1 : 0; /* the directory, with its slash */
    bp_io_temp_name(path, tmp, cap);
    int fd = mkstemp(tmp), e = fd < 0 ? errno : 0;
    if (!e && fchmod(fd, exists ? (st.st_mode & 0777) : 0644) != 0)
        e = errno;
    if (!e)
        e = write_npy(fd, dtype, shape, size, data);
    if (!e && fsync(fd) != 0)
        e = errno;
    if (fd >= 0 && close(fd) != 0 && !e)
        e = errno;
    if (!e && rename(tmp, path) != 0)
        e = errno;
    if (e) {
        if (fd >= 0)
            unlink(tmp);
        free(tmp);
        return fail(err, BP_ERR_IO, path, "cannot write: %s", strerror(e));
    }
    /* the rename is durable once the directory entry is */
    if (dl)
        tmp[dl] = '\0';
    int dfd = open(dl ? tmp : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(tmp);
    return BP_OK;
}
