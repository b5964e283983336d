/* fileio.c - read a whole regular file, safely; see fileio.h */
#define _GNU_SOURCE
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef AR_TEST_SEAMS
void (*ar_test_after_read)(const char *path, int fd);
#endif

static const char *
kind(mode_t m)
{
    if (S_ISFIFO(m))
        return "a FIFO";
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "something else";
}

/* the same size and modification time: no write came in between */
static bool
same_content(const struct stat *a, const struct stat *b)
{
    return a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* -1, errno kept, its text in why */
static int
open_failed(char *why, size_t whysize)
{
    int e = errno;
    snprintf(why, whysize, "%s", strerror(e));
    errno = e;
    return -1;
}

int
ar_file_read(const char *path, int flags, size_t max, char **text, size_t *len,
             struct ar_file_id *id, char *why, size_t whysize)
{
    bool nofollow = (flags & AR_FILE_NOFOLLOW) != 0;
    struct stat st, after;
    *text = NULL;
    *len = 0;
    /* Look before opening: opening a device can do something by itself
     * (a tape rewinds, a watchdog starts), and root may be the opener.
     * The descriptor is checked again below: the name may have changed. */
    if ((nofollow ? lstat(path, &st) : stat(path, &st)) < 0)
        return open_failed(why, whysize);
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whysize, "%s, not a regular file", kind(st.st_mode));
        return -2;
    }
    /* O_NONBLOCK: a FIFO put in its place meanwhile opens at once (and
     * is refused), where a plain open would wait for a writer forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY |
                            (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0)
        return open_failed(why, whysize);
    int rc = -2;
    char *buf = NULL;
    size_t n = 0, size;
    if (fstat(fd, &st) < 0) {
        snprintf(why, whysize, "%s", strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, whysize, "%s, not a regular file", kind(st.st_mode));
        goto out;
    }
    if ((unsigned long long)st.st_size > max) {
        snprintf(why, whysize, "larger than %zu octets", max);
        goto out;
    }
    size = (size_t)st.st_size;
    /* one octet more than the size: room for the NUL, and a file that
     * grows while it is read is seen to */
    if ((buf = malloc(size + 1)) == NULL) {
        snprintf(why, whysize, "out of memory");
        goto out;
    }
    while (n < size + 1) {
        ssize_t r = read(fd, buf + n, size + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, whysize, "read error: %s", strerror(errno));
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
#ifdef AR_TEST_SEAMS
    if (ar_test_after_read)
        ar_test_after_read(path, fd);
#endif
    if (fstat(fd, &after) < 0) {
        snprintf(why, whysize, "%s", strerror(errno));
        goto out;
    }
    if (n != size || !same_content(&st, &after)) {
        snprintf(why, whysize,
                 "changed while it was read (replace it by rename, not in "
                 "place)");
        goto out;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    buf = NULL;
    if (id)
        *id = (struct ar_file_id){.dev = st.st_dev,
                                  .ino = st.st_ino,
                                  .size = st.st_size,
                                  .mtime = st.st_mtim};
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

bool
ar_file_changed(const char *path, const struct ar_file_id *id)
{
    struct stat st;
    if (stat(path, &st) < 0 || st.st_dev != id->dev || st.st_ino != id->ino)
        return false;
    return st.st_size != id->size || st.st_mtim.tv_sec != id->mtime.tv_sec ||
           st.st_mtim.tv_nsec != id->mtime.tv_nsec;
}
