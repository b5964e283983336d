/*
 * sockspec.h - the milter socket as libmilter's smfi_setconn() spells it
 * (authrelay-milter(8), -p): unix:PATH or local:PATH, inet:PORT[@HOST],
 * inet6:PORT[@HOST], or a bare PATH (no colon: libmilter takes it as
 * unix). The one parser for the daemon and the policy loader.
 */
#ifndef AR_SOCKSPEC_H
#define AR_SOCKSPEC_H

#include <stdbool.h>

enum ar_sock_family { AR_SOCK_UNIX, AR_SOCK_INET, AR_SOCK_INET6 };

struct ar_sockspec {
    enum ar_sock_family family;
    bool bare;        /* a PATH without unix: or local: */
    const char *path; /* AR_SOCK_UNIX: points into the spec */
    char port[16];    /* inet: "" when none */
    char host[256];   /* inet: "" when none (all addresses) */
};

/* ar_sockspec_parse - 0, or -1 when spec is none of the forms above (an
 * unknown prefix, an empty path or port, a port or host too long) */
int ar_sockspec_parse(const char *spec, struct ar_sockspec *s);

#endif
