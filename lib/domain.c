/* domain.c - domain syntax and normal form; see domain.h */
#include "domain.h"

#include <arpa/inet.h>
#include <idn2.h>
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
 * is wrong. *idn: a non-ASCII octet, or an A-label ("xn--"), was seen:
 * the domain needs IDNA processing. A label of more than 63 octets is let
 * through once that is so: its A-label, checked later, is what must fit.
 * An octet that is neither non-ASCII nor a hyphen costs what it did
 * before IDNA: the A-label test is made at the second hyphen of "xn--".
 * Inlined: the two callers are the hot path and the checking of an
 * A-label form. */
static inline __attribute__((always_inline)) const char *
labels(const char *in, size_t start, size_t len, char *out, bool *idn)
{
    size_t label = 0;
    bool intl = false;
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
        if (k & K_HIGH) {
            intl = true;
        } else if (k & K_HYPHEN) {
            if (label == 0)
                return "label starts with a hyphen";
            if (label == 3 && in[i - 1] == '-' && (in[i - 2] | 0x20) == 'n' &&
                (in[i - 3] | 0x20) == 'x')
                intl = true;
        }
        if (++label > AR_LABEL_MAX && !intl)
            return "label longer than 63 octets";
    }
    if (label == 0)
        return "empty label in domain";
    if (in[len - 1] == '-')
        return "label ends with a hyphen";
    *idn = intl;
    return NULL;
}

/* does the label s[0..n) start with the ACE prefix "xn--", any case? */
static bool
ace_prefix(const char *s, size_t n)
{
    return n >= 4 && (s[0] | 0x20) == 'x' && (s[1] | 0x20) == 'n' &&
           s[2] == '-' && s[3] == '-';
}

/* what libidn2's refusal means, in the words of our other errors */
static const char *
idna_why(int rc)
{
    switch (rc) {
    case IDN2_MALLOC:
        return "out of memory";
    case IDN2_DISALLOWED:
    case IDN2_UNASSIGNED:
    case IDN2_INVALID_NONTRANSITIONAL:
        return "not valid IDNA: disallowed code point in domain";
    case IDN2_LEADING_COMBINING:
        return "not valid IDNA: label starts with a combining mark";
    case IDN2_HYPHEN_STARTEND:
    case IDN2_2HYPHEN:
        return "not valid IDNA: misplaced hyphen in a label";
    case IDN2_CONTEXTJ:
    case IDN2_CONTEXTJ_NO_RULE:
    case IDN2_CONTEXTO:
    case IDN2_CONTEXTO_NO_RULE:
        return "not valid IDNA: joiner or other character out of context";
    case IDN2_BIDI:
        return "not valid IDNA: bad mix of right-to-left characters";
    case IDN2_PUNYCODE_BAD_INPUT:
    case IDN2_PUNYCODE_BIG_OUTPUT:
    case IDN2_PUNYCODE_OVERFLOW:
    case IDN2_INVALID_ALABEL:
    case IDN2_UALABEL_MISMATCH:
    case IDN2_ALABEL_ROUNDTRIP_FAILED:
        return "not valid IDNA: bad A-label (xn--)";
    case IDN2_TOO_BIG_LABEL:
        return "label longer than 63 octets in A-label form";
    case IDN2_TOO_BIG_DOMAIN:
        return "domain longer than 255 octets in A-label form";
    default:
        return "not valid IDNA";
    }
}

/* The A-label form of the well-formed UTF-8 domain in[0..len) (no leading
 * or trailing dot), after UTS #46 non-transitional processing, into out
 * (AR_DOMAIN_MAX + 1 octets). Only the labels that need it go through
 * libidn2 (non-ASCII, or "xn--"): an ASCII label is the same in both
 * forms, and is not held to IDNA's stricter hyphen rules. */
static const char *
to_alabels(const char *in, size_t len, char *out, size_t *outlen)
{
    char tmp[AR_DOMAIN_MAX + 1], label[AR_DOMAIN_MAX + 1];
    size_t n = 0;
    const char *end = in + len;
    for (const char *s = in; s < end;) {
        const char *e = memchr(s, '.', (size_t)(end - s));
        if (e == NULL)
            e = end;
        size_t l = (size_t)(e - s);
        bool ace = ace_prefix(s, l);
        for (size_t i = 0; i < l && !ace; i++)
            ace = (unsigned char)s[i] >= 0x80;
        const char *part = s;
        uint8_t *conv = NULL;
        if (ace) {
            memcpy(label, s, l);
            label[l] = '\0';
            int rc = idn2_lookup_u8((const uint8_t *)label, &conv,
                                    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
            if (rc != IDN2_OK)
                return idna_why(rc);
            part = (const char *)conv;
            l = strlen(part);
        }
        size_t need = l + (e < end ? 1 : 0);
        if (n + need > AR_DOMAIN_MAX) {
            idn2_free(conv);
            return "domain longer than 255 octets in A-label form";
        }
        memcpy(tmp + n, part, l);
        n += l;
        idn2_free(conv);
        if (e == end)
            break;
        tmp[n++] = '.';
        s = e + 1;
    }
    /* what the mapping made of it must be an LDH domain too: it may have
     * mapped a character to nothing, to a dot, or to ASCII that is not
     * LDH; and every label must fit in A-label form */
    bool again = false;
    if (n == 0 || labels(tmp, 0, n, out, &again) != NULL)
        return "not valid IDNA: maps to a name that is not a domain";
    for (size_t i = 0, l = 0; i < n; i++) {
        if ((unsigned char)out[i] >= 0x80)
            return "not valid IDNA";
        l = out[i] == '.' ? 0 : l + 1;
        if (l > AR_LABEL_MAX)
            return "label longer than 63 octets in A-label form";
    }
    *outlen = n;
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
     * check, a second pass, and the IDNA processing only where there is a
     * non-ASCII octet or an "xn--" label, or an error (a domain that is
     * not UTF-8 is reported as such first) */
    bool idn = false;
    const char *bad = labels(in, start, len, out, &idn);
    if ((bad || idn) &&
        !ar_utf8_valid((const unsigned char *)in + start, len - start))
        bad = "domain is not valid UTF-8";
    size_t n = len - start;
    if (bad == NULL && idn)
        bad = to_alabels(in + start, len - start, out + start, &n);
    if (bad) {
        *why = bad;
        return -1;
    }
    if (start)
        out[0] = '.'; /* the leading dot of a suffix */
    out[start + n] = '\0';
    *outlen = start + n;
    return 0;
}
