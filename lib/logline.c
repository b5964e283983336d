/* logline.c - a mail log line read back into a decision (see logline.h) */
#include "logline.h"

#include <string.h>

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static bool
digit(char c)
{
    return c >= '0' && c <= '9';
}

/* n digits at s into *v; false if not all digits */
static bool
num(const char *s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        if (!digit(s[i]))
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/* "hh:mm:ss" at s */
static bool
clock_time(const char *s, struct ar_logline *l)
{
    return num(s, 2, &l->hour) && s[2] == ':' && num(s + 3, 2, &l->min) &&
           s[5] == ':' && num(s + 6, 2, &l->sec) && l->hour < 24 &&
           l->min < 60 && l->sec < 61;
}

/* "Mmm dd hh:mm:ss " or "Mmm  d hh:mm:ss ": its length, 0 if not one */
static size_t
classic_stamp(const char *s, size_t len, struct ar_logline *l)
{
    if (len < 16 || s[3] != ' ' || s[15] != ' ')
        return 0;
    const char *m = NULL;
    for (int i = 0; i < 12 && m == NULL; i++)
        if (memcmp(s, months + 3 * i, 3) == 0)
            m = months + 3 * i;
    if (m == NULL)
        return 0;
    l->mon = (int)(m - months) / 3;
    if (s[4] == ' ' && digit(s[5]))
        l->mday = s[5] - '0';
    else if (!num(s + 4, 2, &l->mday))
        return 0;
    if (l->mday < 1 || l->mday > 31 || s[6] != ' ' || !clock_time(s + 7, l))
        return 0;
    l->stamp = AR_LL_CLASSIC;
    return 16;
}

/* "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|+hhmm|-...) ": its length, or 0 */
static size_t
iso_stamp(const char *s, size_t len, struct ar_logline *l)
{
    char date[11];
    if (len < 21 || s[10] != 'T')
        return 0;
    memcpy(date, s, 10);
    date[10] = '\0';
    int64_t day = ar_parse_date(date);
    if (day < 0 || !clock_time(s + 11, l))
        return 0;
    size_t i = 19;
    if (s[i] == '.' || s[i] == ',')
        for (i++; i < len && digit(s[i]); i++)
            ;
    int off = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i + 5 <= len && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        size_t k = i + 1;
        if (!num(s + k, 2, &oh))
            return 0;
        k += 2 + (s[k + 2] == ':');
        if (k + 2 > len || !num(s + k, 2, &om) || oh > 23 || om > 59)
            return 0;
        off = (oh * 60 + om) * 60 * (s[i] == '-' ? -1 : 1);
        i = k + 2;
    } else {
        return 0;
    }
    if (i >= len || s[i] != ' ')
        return 0;
    l->stamp = AR_LL_ISO;
    l->epoch =
        day * 86400 + l->hour * 3600 + l->min * 60 + l->sec - (int64_t)off;
    return i + 1;
}

/* "authrelay[pid]: " or "authrelay: " (or authrelay-milter) at s: its
 * length, 0 if another program */
static size_t
our_tag(const char *s, size_t len)
{
    static const char *const names[] = {"authrelay-milter", "authrelay"};
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        if (len <= n || memcmp(s, names[k], n) != 0)
            continue;
        size_t i = n;
        if (s[i] == '[') {
            size_t d = ++i;
            while (i < len && digit(s[i]))
                i++;
            if (i == d || i >= len || s[i] != ']')
                return 0;
            i++;
        }
        if (i + 1 < len && s[i] == ':' && s[i + 1] == ' ')
            return i + 2;
        return 0;
    }
    return 0;
}

static enum ar_logline_kind
bad(struct ar_logline *l, const char *why)
{
    l->why = why;
    return AR_LL_BAD;
}

/* the next space-separated token of [*p, end): NUL-terminated in place */
static char *
token(char **p, char *end)
{
    char *s = *p;
    if (s >= end)
        return NULL;
    char *sp = memchr(s, ' ', (size_t)(end - s));
    if (sp) {
        *sp = '\0';
        *p = sp + 1;
    } else {
        *p = end;
    }
    return s;
}

/* tok is "key=value": the value, else NULL */
static const char *
value_of(const char *tok, const char *key)
{
    size_t n = strlen(key);
    if (tok == NULL || strncmp(tok, key, n) != 0 || tok[n] != '=')
        return NULL;
    return tok + n + 1;
}

/* a field the daemon cut to its room */
static bool
was_cut(const char *v)
{
    size_t n = strlen(v);
    return n >= AR_LOGLINE_FIELD_MAX &&
           strcmp(v + n - (sizeof(AR_LOGLINE_CUT) - 1), AR_LOGLINE_CUT) == 0;
}

static bool
decision_word(struct ar_logline *l)
{
    static const struct {
        const char *word;
        enum ar_decision d;
        bool reported;
    } words[] = {
        {"accept", AR_ACCEPT, false},
        {"reject", AR_REJECT, false},
        {"tempfail", AR_TEMPFAIL, false},
        {"would-permit", AR_ACCEPT, true},
        {"would-reject", AR_REJECT, true},
        {"would-tempfail", AR_TEMPFAIL, true},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(l->word, words[i].word) == 0) {
            l->decision = words[i].d;
            l->reported = words[i].reported;
            return true;
        }
    return false;
}

/* a rule name as the daemon writes it: [A-Za-z0-9._-]+ */
static bool
rule_name(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              digit(*s) || *s == '.' || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* "client=NAME[ADDR]": the ADDR after the last '[' */
static bool
client_field(char *v, struct ar_logline *l)
{
    size_t n = strlen(v);
    char *open = strrchr(v, '[');
    if (n < 3 || v[n - 1] != ']' || open == NULL || open == v)
        return false;
    *open = '\0';
    v[n - 1] = '\0';
    l->client_name = v;
    l->client_addr = open + 1;
    return true;
}

/* the message after "authrelay[pid]: " */
static enum ar_logline_kind
message(char *s, char *end, struct ar_logline *l)
{
    char *colon = memchr(s, ':', (size_t)(end - s));
    if (colon == NULL || colon == s || colon + 1 >= end || colon[1] != ' ' ||
        memchr(s, ' ', (size_t)(colon - s)))
        return AR_LL_DAEMON;
    char *p = colon + 2;
    bool rcpt = strncmp(p, "rcpt=", 5) == 0 && (size_t)(end - p) >= 5;
    if (!rcpt && !(strncmp(p, "from=", 5) == 0 && (size_t)(end - p) >= 5))
        return AR_LL_DAEMON;
    *colon = '\0';
    l->qid = s;

    char *first = token(&p, end);
    if (rcpt)
        l->rcpt = first + 5;
    else
        l->from = first + 5;
    char *tok = token(&p, end);
    if ((l->word = value_of(tok, "decision")) == NULL)
        return bad(l, "no decision= after the address");
    if (!decision_word(l))
        return bad(l, "unknown decision");
    tok = token(&p, end);
    if ((l->rule = value_of(tok, "rule")) == NULL || !rule_name(l->rule))
        return bad(l, "no rule=");
    tok = token(&p, end);
    char *cv = (char *)value_of(tok, "client");
    if (cv == NULL || !client_field(cv, l))
        return bad(l, "no client=NAME[ADDR]");
    tok = token(&p, end);
    if ((l->auth = value_of(tok, "auth")) == NULL)
        return bad(l, "no auth=");
    if (rcpt) {
        tok = token(&p, end);
        if ((l->from = value_of(tok, "from")) == NULL)
            return bad(l, "no from=");
    }
    /* the inputs logged at the end; unknown keys are a later daemon's */
    while ((tok = token(&p, end)) != NULL) {
        const char **slot = NULL;
        const char *v;
        if ((v = value_of(tok, "helo")) != NULL)
            slot = &l->helo;
        else if ((v = value_of(tok, "resolve")) != NULL)
            slot = &l->resolve;
        else if ((v = value_of(tok, "mailer")) != NULL)
            slot = &l->mailer;
        else if (strchr(tok, '=') == NULL || tok[0] == '=')
            return bad(l, "a field that is not key=value");
        if (slot && *slot)
            return bad(l, "a field given twice");
        if (slot)
            *slot = v;
    }
    if (l->resolve && strcmp(l->resolve, "ok") != 0 &&
        strcmp(l->resolve, "no") != 0)
        return bad(l, "resolve= neither ok nor no");
    const char *cut[] = {l->qid,  l->rcpt, l->client_name, l->auth,
                         l->from, l->helo, l->mailer};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++)
        if (cut[i] && was_cut(cut[i]))
            return bad(l, "a field cut short");
    /* '?' stands for an octet the daemon could not log: the address it
     * was is not known */
    if ((l->rcpt && strchr(l->rcpt, '?')) || strchr(l->from, '?'))
        return bad(l, "an address with an octet logged as '?'");
    return rcpt ? AR_LL_DECISION : AR_LL_SENDER;
}

enum ar_logline_kind
ar_logline_parse(char *line, size_t len, struct ar_logline *l)
{
    memset(l, 0, sizeof(*l));
    line[len] = '\0';
    if (len > AR_LOGLINE_MAX || memchr(line, '\0', len))
        return AR_LL_OTHER;
    size_t at = classic_stamp(line, len, l);
    if (at == 0)
        at = iso_stamp(line, len, l);
    if (at) { /* then the host name */
        char *sp = memchr(line + at, ' ', len - at);
        if (sp == NULL || sp == line + at)
            return AR_LL_OTHER;
        at = (size_t)(sp + 1 - line);
    }
    size_t tag = our_tag(line + at, len - at);
    if (tag == 0)
        return AR_LL_OTHER;
    return message(line + at + tag, line + len, l);
}

int
ar_logline_request(const struct ar_logline *l, int64_t today,
                   struct ar_request *r)
{
    memset(r, 0, sizeof(*r));
    if (strcmp(l->client_addr, "unknown") != 0 &&
        ar_ip_parse(l->client_addr, &r->client_addr) < 0)
        return -1;
    const char *name = l->client_name;
    r->client_name = *name ? name : NULL;
    if (l->resolve)
        r->client_name_verified = strcmp(l->resolve, "ok") == 0;
    else
        r->client_name_verified =
            *name && name[0] != '[' && strcmp(name, "unknown") != 0;
    r->helo = l->helo;
    r->auth_authen = strcmp(l->auth, "-") == 0 ? NULL : l->auth;
    r->mail_from = l->from;
    r->rcpt = l->rcpt;
    r->rcpt_mailer = l->mailer;
    r->today = today;
    return 0;
}
