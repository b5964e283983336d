/*
 * check_tmp.h - a private directory for a test, under $TMPDIR (scripts/test
 * points it at one directory it removes at the end) or else /tmp.
 */
#ifndef AR_CHECK_TMP_H
#define AR_CHECK_TMP_H

#include <stdio.h>
#include <stdlib.h>

/* make a fresh directory STEM_XXXXXX in buf[0..n); NULL on failure (and
 * when the name does not fit) */
static inline char *
test_mkdtemp(char *buf, size_t n, const char *stem)
{
    const char *t = getenv("TMPDIR");
    int len = snprintf(buf, n, "%s/%s_XXXXXX", t && *t ? t : "/tmp", stem);
    if (len < 0 || (size_t)len >= n)
        return NULL;
    return mkdtemp(buf);
}

#endif
