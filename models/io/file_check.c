/* file_check.c — the one check every reader and writer of bptt makes on a path: a
 * reader opens only a regular file (without waiting on a FIFO), a writer replaces only
 * a regular file or creates an absent one, and a run's inputs and outputs are told
 * apart by device and inode. */
#include "bptt_arrays.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is not a regular one is, for messages. */
static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

int bp_file_open_read(const char *path, bp_error *err)
{
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        bp_io_fail(err, BP_ERR_IO, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        bp_io_fail(err, BP_ERR_IO, path, "cannot stat: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        bp_io_fail(err, BP_ERR_IO, path, "is a directory");
    } else if (!S_ISREG(st.st_mode)) {
        bp_io_fail(err, BP_ERR_IO, path, "not a regular file (%s)", kind_of(st.st_mode));
    } else {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
        return fd;
    }
    close(fd);
    return -1;
}

bp_status bp_io_check_dest(const char *path, bp_error *err)
{
    size_t n = strlen(path);
    struct stat st;
    if (n == 0)
        return bp_io_fail(err, BP_ERR_IO, "(empty path)", "cannot write: no file name");
    if (path[n - 1] == '/')
        return bp_io_fail(err, BP_ERR_IO, path, "cannot write: the path names a directory");
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
        return bp_io_fail(err, BP_ERR_IO, path,
                          "cannot write: it exists and is not a regular file (%s); left alone",
                          kind_of(st.st_mode));
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (strlen(base) > BP_IO_NAME_MAX)
        return bp_io_fail(err, BP_ERR_IO, path, "cannot write: the file name is %zu bytes, "
                          "longer than %d", strlen(base), BP_IO_NAME_MAX);
    if (n >= PATH_MAX)
        return bp_io_fail(err, BP_ERR_IO, "(a long path)", "cannot write: the path is %zu bytes, "
                          "longer than %d", n, PATH_MAX - 1);
    return BP_OK;
}

int bp_io_temp_name(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    int dl = slash ? (int)(slash - path) + 1 : 0; /* the directory, with its slash */
    /* at most 200 bytes of the name, so that ".NAME.tmp-XXXXXX" fits in NAME_MAX */
    int bl = (int)strnlen(base, 200);
    return snprintf(tmp, cap, "%.*s.%.*s.tmp-XXXXXX", dl, path, bl, base) < (int)cap ? 0 : -1;
}

bp_status bp_file_check_output(const char *path, bp_error *err)
{
    bp_status s = bp_io_check_dest(path, err);
    if (s != BP_OK)
        return s;
    char tmp[PATH_MAX + 32];
    if (bp_io_temp_name(path, tmp, sizeof tmp) != 0)
        return bp_io_fail(err, BP_ERR_IO, path, "cannot write: the path is too long");
    int fd = mkstemp(tmp); /* the folder exists and takes a new file */
    if (fd < 0)
        return bp_io_fail(err, BP_ERR_IO, path, "cannot write: %s", strerror(errno));
    close(fd);
    unlink(tmp);
    return BP_OK;
}

bool bp_file_same(const char *a, const char *b)
{
    struct stat x, y;
    return a && b && stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev &&
           x.st_ino == y.st_ino;
}
