/* log.c - syslog (and stderr in the foreground); see log.h */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void
ar_log_open(int foreground)
{
    openlog("authrelay", LOG_PID | LOG_NDELAY | (foreground ? LOG_PERROR : 0),
            LOG_MAIL);
}

void
ar_log(int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsyslog(prio, fmt, ap);
    va_end(ap);
}

const char *
ar_log_clean(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    if (s == NULL)
        s = "";
    for (; *s && n + 1 < size; s++) {
        unsigned char c = (unsigned char)*s;
        buf[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}
