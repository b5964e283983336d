/*
 * loginmap.h - the sender-login map: which envelope senders an SMTP AUTH
 * login may use (authrelay.conf(5), sender_login). Logins are looked up case-insensitively. A
 * sender pattern is "local@domain" (local part exact, domain
 * case-insensitive) or "@domain" (any sender in exactly that domain).
 * Build with ar_loginmap_add*(), then share freely (lookups never write).
 */
#ifndef AR_LOGINMAP_H
#define AR_LOGINMAP_H

#include <stdbool.h>
#include <stddef.h>

struct ar_loginmap;

struct ar_loginmap *ar_loginmap_new(void);
void ar_loginmap_free(struct ar_loginmap *m);

/* ar_loginmap_add - allow login to send as pattern; adding to a login
 * that is already there extends its list. -1 with *why on a bad pattern
 * or login, or no memory. */
int ar_loginmap_add(struct ar_loginmap *m, const char *login,
                    const char *pattern, const char **why);
/* ar_loginmap_add_any - login may use any sender (a webmail front end) */
int ar_loginmap_add_any(struct ar_loginmap *m, const char *login,
                        const char **why);

enum ar_login_match {
    AR_LOGIN_NO,     /* not allowed */
    AR_LOGIN_ANY,    /* in any_sender_logins */
    AR_LOGIN_SELF,   /* the sender is the login itself */
    AR_LOGIN_LISTED, /* one of the login's senders */
    AR_LOGIN_DOMAIN, /* an @domain of the login's senders */
};

/*
 * ar_loginmap_match - may login send as local@domain? local is the
 * decoded local part, domain in normal form (addr.h). *entry is set to
 * the pattern that allowed it, when there is one.
 */
enum ar_login_match ar_loginmap_match(const struct ar_loginmap *m,
                                      const char *login, const char *local,
                                      const char *domain, const char **entry);

size_t ar_loginmap_count(const struct ar_loginmap *m);

#endif
