/*
 * replay.c - authrelay-policy replay: the daemon's decision lines read
 * from mail logs (plain, .gz, journalctl -o short-iso, stdin) and each
 * recipient decided again under a policy, with the line's own date.
 * Prints every recipient whose decision or rule changed, then the totals
 * and a count per rule transition. Exit 0 nothing changed, 1 something
 * changed, 2 on an error (usage, policy, a log that cannot be read).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "decide.h"
#include "logline.h"
#include "policy.h"
#include "tool.h"

#define READ_CHUNK (256 * 1024)

struct transition {
    char *from, *to;
    unsigned long n;
};

struct replay {
    struct ar_policy *policy;
    unsigned long replayed, changed, skipped, sender_lines;
    struct transition *tr;
    size_t ntr, cap;
    int error;
    /* the file being read: its modification time, for the year of a
     * classic timestamp */
    time_t mtime;
    int mtime_year;
    /* the last classic hour converted: its start, for year and year - 1 */
    int c_mon, c_mday, c_hour;
    time_t c_start[2];
};

static void
count_transition(struct replay *rp, const char *from, const char *to)
{
    for (size_t i = 0; i < rp->ntr; i++)
        if (strcmp(rp->tr[i].from, from) == 0 &&
            strcmp(rp->tr[i].to, to) == 0) {
            rp->tr[i].n++;
            return;
        }
    if (rp->ntr == rp->cap) {
        size_t cap = rp->cap ? 2 * rp->cap : 16;
        struct transition *t = realloc(rp->tr, cap * sizeof(*t));
        if (t == NULL)
            goto oom;
        rp->tr = t;
        rp->cap = cap;
    }
    struct transition *t = &rp->tr[rp->ntr];
    t->from = strdup(from);
    t->to = strdup(to);
    t->n = 1;
    if (t->from == NULL || t->to == NULL) {
        free(t->from);
        free(t->to);
        goto oom;
    }
    rp->ntr++;
    return;
oom:
    fprintf(stderr, "authrelay-policy: out of memory\n");
    rp->error = 1;
}

/* the start of hour h of a local day in year y; -1 if no such day */
static time_t
local_hour(int y, int mon, int mday, int hour)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mon,
                    .tm_mday = mday,
                    .tm_hour = hour,
                    .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (t == (time_t)-1 || tm.tm_mon != mon) /* Feb 29 of another year */
        return -1;
    return t;
}

/* the UTC day of a line: a classic timestamp is local time in the year
 * that puts it not after the file's modification time */
static int64_t
line_day(struct replay *rp, const struct ar_logline *l)
{
    time_t t;
    switch (l->stamp) {
    case AR_LL_ISO:
        t = (time_t)l->epoch;
        break;
    case AR_LL_CLASSIC:
        if (l->mon != rp->c_mon || l->mday != rp->c_mday ||
            l->hour != rp->c_hour) {
            rp->c_mon = l->mon;
            rp->c_mday = l->mday;
            rp->c_hour = l->hour;
            rp->c_start[0] =
                local_hour(rp->mtime_year, l->mon, l->mday, l->hour);
            rp->c_start[1] =
                local_hour(rp->mtime_year - 1, l->mon, l->mday, l->hour);
        }
        t = rp->c_start[0] + l->min * 60 + l->sec;
        if (rp->c_start[0] == -1 || t > rp->mtime)
            t = rp->c_start[1] + l->min * 60 + l->sec;
        break;
    default:
        t = rp->mtime;
    }
    return t >= 0 ? (int64_t)t / 86400 : -(((int64_t)-t + 86399) / 86400);
}

static void
replay_line(struct replay *rp, char *line, size_t len)
{
    struct ar_logline l;
    struct ar_request r;
    struct ar_verdict v;

    switch (ar_logline_parse(line, len, &l)) {
    case AR_LL_OTHER:
    case AR_LL_DAEMON:
        return;
    case AR_LL_BAD:
        rp->skipped++;
        return;
    case AR_LL_SENDER:
        rp->sender_lines++;
        return;
    case AR_LL_DECISION:
        break;
    }
    if (ar_logline_request(&l, line_day(rp, &l), &r) < 0) {
        rp->skipped++;
        return;
    }
    rp->replayed++;
    ar_policy_eval(rp->policy, &r, &v);
    /* a line that reports what a dry-run rule would have done compares
     * with what that rule would do now, if it is still a dry run */
    enum ar_decision d = v.decision;
    const char *rule = v.rule, *word = ar_decision_name(d);
    if (l.reported)
        for (size_t k = 0; k < v.ndry; k++)
            if (strcmp(v.dry[k].rule, l.rule) == 0) {
                d = v.dry[k].decision;
                rule = v.dry[k].rule;
                word = ar_decision_word(d, true);
                break;
            }
    if (d == l.decision && strcmp(rule, l.rule) == 0)
        return;
    rp->changed++;
    printf("%s %s %s rule=%s -> %s rule=%s client=%s[%s] auth=%s\n", l.qid,
           l.rcpt, l.word, l.rule, word, rule, l.client_name, l.client_addr,
           l.auth);
    count_transition(rp, l.rule, rule);
}

/* every line of one log; -1 if it could not be read */
static int
replay_file(struct replay *rp, const char *name)
{
    int fd = strcmp(name, "-") == 0 ? dup(0) : open(name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "authrelay-policy: %s: %s\n", name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "authrelay-policy: %s: is a directory\n", name);
        close(fd);
        return -1;
    }
    rp->mtime = S_ISREG(st.st_mode) ? st.st_mtime : time(NULL);
    struct tm tm;
    localtime_r(&rp->mtime, &tm);
    rp->mtime_year = tm.tm_year + 1900;
    rp->c_mon = -1;

    gzFile gz = gzdopen(fd, "rb"); /* reads a file that is not gzip as is */
    char *buf = malloc(READ_CHUNK + AR_LOGLINE_MAX + 2);
    if (gz == NULL || buf == NULL) {
        fprintf(stderr, "authrelay-policy: %s: out of memory\n", name);
        if (gz)
            gzclose(gz);
        else
            close(fd);
        free(buf);
        return -1;
    }
    gzbuffer(gz, READ_CHUNK);
    size_t have = 0;
    bool too_long = false; /* in a line too long to be ours */
    int rc = 0;
    for (;;) {
        int n = gzread(gz, buf + have, READ_CHUNK);
        if (n < 0) {
            int e;
            const char *msg = gzerror(gz, &e);
            fprintf(stderr, "authrelay-policy: %s: %s\n", name,
                    e == Z_ERRNO ? strerror(errno) : msg);
            rc = -1;
            break;
        }
        have += (size_t)n;
        char *p = buf, *end = buf + have, *nl;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if (!too_long)
                replay_line(rp, p, (size_t)(nl - p));
            too_long = false;
            p = nl + 1;
        }
        have = (size_t)(end - p);
        if (n == 0) { /* the last line may lack its newline */
            if (have && !too_long)
                replay_line(rp, p, have);
            int e;
            const char *msg = gzerror(gz, &e);
            if (e != Z_OK) { /* a .gz cut short */
                fprintf(stderr, "authrelay-policy: %s: %s\n", name, msg);
                rc = -1;
            }
            break;
        }
        if (have > AR_LOGLINE_MAX) { /* not a line of ours: drop it */
            too_long = true;
            have = 0;
        }
        memmove(buf, p, have);
    }
    gzclose(gz);
    free(buf);
    return rc;
}

static int
by_count(const void *a, const void *b)
{
    const struct transition *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    int c = strcmp(x->from, y->from);
    return c ? c : strcmp(x->to, y->to);
}

int
ar_cmd_replay(const char *path, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        if (c != 'c') {
            fputs("usage: authrelay-policy replay [-c FILE] LOG...\n", stderr);
            return EX_USAGE_TOOL;
        }
        path = optarg;
    }
    if (optind >= argc) {
        fputs("usage: authrelay-policy replay [-c FILE] LOG... (- for "
              "standard input)\n",
              stderr);
        return EX_USAGE_TOOL;
    }

    struct replay rp;
    memset(&rp, 0, sizeof(rp));
    if ((rp.policy = ar_tool_load(path, ar_today(), false)) == NULL)
        return EX_USAGE_TOOL;

    static char out[1 << 16];
    setvbuf(stdout, out, _IOFBF, sizeof(out));
    for (int i = optind; i < argc; i++)
        if (replay_file(&rp, argv[i]) < 0)
            rp.error = 1;

    printf("%lu recipients replayed, %lu changed, %lu lines skipped\n",
           rp.replayed, rp.changed, rp.skipped);
    if (rp.sender_lines)
        printf("%lu sender-login lines not replayed\n", rp.sender_lines);
    if (rp.ntr) /* qsort wants a real array even of none */
        qsort(rp.tr, rp.ntr, sizeof(*rp.tr), by_count);
    for (size_t i = 0; i < rp.ntr; i++) {
        printf("%lu %s -> %s\n", rp.tr[i].n, rp.tr[i].from, rp.tr[i].to);
        free(rp.tr[i].from);
        free(rp.tr[i].to);
    }
    free(rp.tr);
    ar_policy_unref(rp.policy);
    if (fflush(stdout) != 0)
        rp.error = 1;
    return rp.error ? EX_USAGE_TOOL : rp.changed ? 1 : 0;
}
