/* sockspec.c - the milter socket spec (see sockspec.h) */
#include "sockspec.h"

#include <string.h>

/* s after prefix, or NULL when it does not start with it */
static const char *
after(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

/* PORT[@HOST] into s */
static int
inet_part(const char *p, struct ar_sockspec *s)
{
    const char *at = strchr(p, '@');
    size_t plen = at ? (size_t)(at - p) : strlen(p);
    size_t hlen = at ? strlen(at + 1) : 0;
    if (plen == 0 || plen >= sizeof(s->port) || hlen >= sizeof(s->host))
        return -1;
    memcpy(s->port, p, plen);
    s->port[plen] = '\0';
    memcpy(s->host, at ? at + 1 : "", hlen + 1);
    return 0;
}

int
ar_sockspec_parse(const char *spec, struct ar_sockspec *s)
{
    const char *p;
    memset(s, 0, sizeof(*s));
    if ((p = after(spec, "unix:")) != NULL ||
        (p = after(spec, "local:")) != NULL ||
        (strchr(spec, ':') == NULL && (s->bare = true))) {
        s->family = AR_SOCK_UNIX;
        s->path = p ? p : spec;
        return s->path[0] ? 0 : -1;
    }
    if ((p = after(spec, "inet:")) != NULL) {
        s->family = AR_SOCK_INET;
        return inet_part(p, s);
    }
    if ((p = after(spec, "inet6:")) != NULL) {
        s->family = AR_SOCK_INET6;
        return inet_part(p, s);
    }
    return -1;
}
