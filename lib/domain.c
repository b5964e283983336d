/* domain.c - domain syntax and normal form; see domain.h */
#include "domain.h"

#include <arpa/inet.h>
#include <string.h>

bool
ar_utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min;
        unsigned cp;

        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += n + 1;
    }
    return true;
}

static bool
is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* RFC 5321 address literal, brackets included */
static int
check_literal(const char *s, size_t len, const char **why)
{
    char buf[64];
    struct in6_addr a6;
    struct in_addr a4;
    const char *in = s + 1;
    size_t n = len - 2;

    if (len < 3 || s[len - 1] != ']') {
        *why = "unterminated address literal";
        return -1;
    }
    if (n >= 5 && strncasecmp(in, "IPv6:", 5) == 0) {
        if (n - 5 >= sizeof(buf))
            goto bad;
        memcpy(buf, in + 5, n - 5);
        buf[n - 5] = '\0';
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            goto bad;
        return 0;
    }
    const char *colon = memchr(in, ':', n);
    if (colon == NULL) {
        if (n >= sizeof(buf))
            goto bad;
        memcpy(buf, in, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, &a4) != 1)
            goto bad;
        return 0;
    }
    /* General-address-literal: Standardized-tag ":" 1*dcontent */
    size_t taglen = (size_t)(colon - in);
    if (taglen == 0 || !is_alnum((unsigned char)in[0]) ||
        !is_alnum((unsigned char)in[taglen - 1]) || colon + 1 == in + n)
        goto bad;
    for (size_t i = 0; i < taglen; i++)
        if (!is_alnum((unsigned char)in[i]) && in[i] != '-')
            goto bad;
    for (const char *p = colon + 1; p < in + n; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 33 || c > 126 || c == '[' || c == '\\' || c == ']')
            goto bad;
    }
    return 0;
bad:
    *why = "malformed address literal";
    return -1;
}

/* what an octet is to a domain name (one table look-up a character on
 * the path of every recipient) */
enum {
    K_LETTER = 1,
    K_UPPER = 2,
    K_DIGIT = 4,
    K_HYPHEN = 8,
    K_DOT = 16,
    K_HIGH = 32
};
static const unsigned char kind[256] = {['a' ... 'z'] = K_LETTER,
                                        ['A' ... 'Z'] = K_LETTER | K_UPPER,
                                        ['0' ... '9'] = K_DIGIT,
                                        ['-'] = K_HYPHEN,
                                        ['.'] = K_DOT,
                                        [0x80 ... 0xff] = K_HIGH};

/* Check the labels of in[start..len) (no trailing dot), writing each
 * octet in normal form to out at the same offset as it goes; NULL, or what
 * is wrong. *high: a non-ASCII octet was seen. */
static const char *
labels(const char *in, size_t start, size_t len, char *out, bool *high)
{
    size_t label = 0;
    for (size_t i = start; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        unsigned k = kind[c];
        out[i] = (char)(k & K_UPPER ? c + ('a' - 'A') : c);
        if (k & K_DOT) {
            if (label == 0)
                return "empty label in domain";
            if (in[i - 1] == '-')
                return "label ends with a hyphen";
            label = 0;
            continue;
        }
        if (k == 0)
            return "invalid character in domain";
        if (k & K_HIGH)
            *high = true;
        else if ((k & K_HYPHEN) && label == 0)
            return "label starts with a hyphen";
        if (++label > AR_LABEL_MAX)
            return "label longer than 63 octets";
    }
    if (label == 0)
        return "empty label in domain";
    if (in[len - 1] == '-')
        return "label ends with a hyphen";
    return NULL;
}

int
ar_domain_normalize(const char *in, size_t len, unsigned flags, char *out,
                    size_t *outlen, const char **why)
{
    size_t start = 0;

    if (len == 0) {
        *why = "empty domain";
        return -1;
    }
    if (in[0] == '[') {
        if (!(flags & AR_DOM_LITERAL)) {
            *why = "address literal not allowed here";
            return -1;
        }
        if (len > AR_DOMAIN_MAX) {
            *why = "domain longer than 255 octets";
            return -1;
        }
        if (check_literal(in, len, why) < 0)
            return -1;
        for (size_t i = 0; i < len; i++)
            out[i] = ar_lower(in[i]);
        out[len] = '\0';
        *outlen = len;
        return 0;
    }
    if (in[0] == '.') {
        if (!(flags & AR_DOM_SUFFIX)) {
            *why = "domain starts with a dot";
            return -1;
        }
        start = 1;
    }
    if (len > start && in[len - 1] == '.')
        len--; /* one trailing dot is ignored */
    if (len <= start) {
        *why = "empty domain";
        return -1;
    }
    if (len - start > AR_DOMAIN_MAX) {
        *why = "domain longer than 255 octets";
        return -1;
    }
    /* one pass checks the labels and writes the normal form; the UTF-8
     * check, a second pass, only where there is a non-ASCII octet, or an
     * error (a domain that is not UTF-8 is reported as such first) */
    bool high = false;
    const char *bad = labels(in, start, len, out, &high);
    if ((bad || high) &&
        !ar_utf8_valid((const unsigned char *)in + start, len - start))
        bad = "domain is not valid UTF-8";
    if (bad) {
        *why = bad;
        return -1;
    }
    out[0] = ar_lower(in[0]); /* the leading dot of a suffix, if any */
    out[len] = '\0';
    *outlen = len;
    return 0;
}
