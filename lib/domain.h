/*
 * domain.h - domain name syntax (RFC 5321 with SMTPUTF8) and normal form.
 *
 * The normal form is what every domain comparison in authrelay uses: ASCII
 * letters folded to lower case, one trailing dot removed, and each label
 * with a non-ASCII octet (a U-label) or an "xn--" prefix (an A-label) in
 * its A-label form after UTS #46 non-transitional processing (libidn2,
 * NFC input); such a label that is not valid IDNA is an error. An ASCII
 * domain never reaches libidn2. An address literal ("[192.0.2.1]",
 * "[IPv6:2001:db8::1]") is folded the same way and never compared as an
 * address. Pure functions; thread-safe.
 */
#ifndef AR_DOMAIN_H
#define AR_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#define AR_DOMAIN_MAX 255 /* octets, without the trailing dot */
#define AR_LABEL_MAX 63

enum {
    AR_DOM_SUFFIX = 1,  /* a leading dot is allowed: ".example.com" */
    AR_DOM_LITERAL = 2, /* an address literal is allowed: "[192.0.2.1]" */
};

/*
 * ar_domain_normalize - check the syntax of in[0..len) and write its normal
 * form, NUL-terminated, to out (AR_DOMAIN_MAX + 2 octets). Returns 0, or -1
 * with *why set to a static explanation (also "out of memory" when libidn2
 * has none: the caller treats it as any bad domain).
 */
int ar_domain_normalize(const char *in, size_t len, unsigned flags, char *out,
                        size_t *outlen, const char **why);

/* ar_utf8_valid - true if s[0..len) is well-formed UTF-8 (no overlongs) */
bool ar_utf8_valid(const unsigned char *s, size_t len);

/* ar_lower - ASCII lower case of c */
static inline char
ar_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + ('a' - 'A')) : c;
}

#endif
