/*
 * fileio.h - read a whole file the way the daemon reads every file it is
 * given: only a regular file (a FIFO, device, socket or directory is
 * refused before it can block or spin), without ever waiting to open it
 * (O_NONBLOCK), up to a size bound, and only when it did not change while
 * it was read (a file rewritten in place, not renamed, can be caught half
 * written).
 */
#ifndef AR_FILEIO_H
#define AR_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* what was read, to tell later whether the file changed in place */
struct ar_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

#define AR_FILE_NOFOLLOW 1 /* a symbolic link is refused, not followed */

/* a why buffer of this size holds every message */
#define AR_FILE_WHY 128

/* ar_file_read - the whole of the regular file path (at most max octets)
 * into a malloc'ed, NUL-terminated *text of *len octets; *id, when not
 * NULL, says which file it was. 0; -1 when it cannot be opened (errno
 * says why, and why its text: absent, not accessible); -2 when it is not
 * a regular file, too large, unreadable, changed while it was read, or
 * memory runs out (why says which). */
int ar_file_read(const char *path, int flags, size_t max, char **text,
                 size_t *len, struct ar_file_id *id, char *why, size_t whysize);

/* ar_file_changed - path still names the file id describes but its size
 * or modification time differ: it was written in place since it was read.
 * A file replaced by rename since then is not "changed" (what was read
 * was whole); a file gone is not either (the next read says so). */
bool ar_file_changed(const char *path, const struct ar_file_id *id);

#ifdef AR_TEST_SEAMS
/* tests only: called between the end of a read and the check that the
 * file did not change meanwhile, with the path and descriptor being read */
extern void (*ar_test_after_read)(const char *path, int fd);
#endif

#endif
