/* metrics.c - Prometheus text-format metrics; see metrics.h */
#define _GNU_SOURCE
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "hash.h"
#include "log.h"
#include "metrics_read.h"

/* a small string-keyed hash table: "decision\x1frule" -> count, or
 * rule -> last match time */
struct entry {
    char *key; /* NULL: a free slot */
    uint32_t hash;
    double value;
};

struct table {
    struct entry *v;
    size_t mask, n; /* v has mask + 1 slots */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct table last_match;
static uint64_t reloads_ok, reloads_failed;
static char policy_sha[65];
static double policy_load_seconds;

/* Decisions, two per transaction, are counted in shards, one per CPU
 * (NSHARDS at most): a session thread counts under the lock of its CPU's
 * shard, so that lock and those counters stay in that CPU's cache instead
 * of moving between CPUs at every recipient. Writing the metrics adds the
 * shards up. */
#define NSHARDS 16

static struct shard {
    pthread_mutex_t lock;
    struct table decisions;
} __attribute__((aligned(64)))
shards[NSHARDS] = {[0 ... NSHARDS - 1] = {.lock = PTHREAD_MUTEX_INITIALIZER}};

static bool
grow(struct table *t)
{
    size_t nmask = t->v ? t->mask * 2 + 1 : 63;
    struct entry *nv = calloc(nmask + 1, sizeof(*nv));
    if (nv == NULL)
        return false;
    for (size_t i = 0; t->v && i <= t->mask; i++) {
        if (t->v[i].key == NULL)
            continue;
        size_t j = t->v[i].hash & nmask;
        while (nv[j].key)
            j = (j + 1) & nmask;
        nv[j] = t->v[i];
    }
    free(t->v);
    t->v = nv;
    t->mask = nmask;
    return true;
}

/* The entry for the key a, or "a\x1fb" when b is not NULL (a decision and
 * its rule, hashed and compared as they are, joined only when new);
 * created at 0 when new; NULL when out of memory. */
static struct entry *
slot(struct table *t, const char *a, const char *b)
{
    size_t an = strlen(a), bn = b ? strlen(b) : 0;
    uint32_t h = ar_hash(a, an);
    if (b)
        h = ar_hash_add(ar_hash_add(h, "\x1f", 1), b, bn);
    if ((t->n + 1) * 2 > (t->v ? t->mask + 1 : 0) && !grow(t))
        return NULL;
    size_t i = h & t->mask;
    for (; t->v[i].key; i = (i + 1) & t->mask) {
        const char *k = t->v[i].key;
        if (t->v[i].hash == h && strncmp(k, a, an) == 0 &&
            (b ? k[an] == '\x1f' && strcmp(k + an + 1, b) == 0 : k[an] == '\0'))
            return &t->v[i];
    }
    char *key = malloc(an + 1 + bn + 1);
    if (key == NULL)
        return NULL;
    memcpy(key, a, an);
    key[an] = '\0';
    if (b) {
        key[an] = '\x1f';
        memcpy(key + an + 1, b, bn);
        key[an + 1 + bn] = '\0';
    }
    t->v[i] = (struct entry){.key = key, .hash = h};
    t->n++;
    return &t->v[i];
}

static void
table_free(struct table *t)
{
    for (size_t i = 0; t->v && i <= t->mask; i++)
        free(t->v[i].key);
    free(t->v);
    *t = (struct table){0};
}

void
ar_metrics_count(const char *decision, const char *rule)
{
    int cpu = sched_getcpu();
    struct shard *s = &shards[cpu > 0 ? (unsigned)cpu % NSHARDS : 0];
    pthread_mutex_lock(&s->lock);
    struct entry *e = slot(&s->decisions, decision, rule);
    if (e)
        e->value += 1;
    pthread_mutex_unlock(&s->lock);
}

/* the shards added up (under each shard's lock in turn) */
static struct table
decisions_total(void)
{
    struct table all = {0};
    for (size_t k = 0; k < NSHARDS; k++) {
        const struct table *t = &shards[k].decisions;
        pthread_mutex_lock(&shards[k].lock);
        for (size_t i = 0; t->v && i <= t->mask; i++) {
            struct entry *e;
            if (t->v[i].key && (e = slot(&all, t->v[i].key, NULL)) != NULL)
                e->value += t->v[i].value;
        }
        pthread_mutex_unlock(&shards[k].lock);
    }
    return all;
}

void
ar_metrics_matched(const char *rule, time_t when)
{
    pthread_mutex_lock(&lock);
    struct entry *e = slot(&last_match, rule, NULL);
    if (e && (double)when > e->value)
        e->value = (double)when;
    pthread_mutex_unlock(&lock);
}

void
ar_metrics_reload(bool ok)
{
    pthread_mutex_lock(&lock);
    if (ok)
        reloads_ok++;
    else
        reloads_failed++;
    pthread_mutex_unlock(&lock);
}

void
ar_metrics_policy(const char *sha256, double load_seconds)
{
    pthread_mutex_lock(&lock);
    snprintf(policy_sha, sizeof(policy_sha), "%s", sha256);
    policy_load_seconds = load_seconds;
    pthread_mutex_unlock(&lock);
}

/* A rule name as a policy spells one ([A-Za-z0-9][A-Za-z0-9._-]*, at
 * most 200 octets): the only names restored. Whoever could put a file
 * at the metrics path must not get quotes into the Prometheus file nor
 * control octets into the log line of SIGUSR2. */
static bool
rule_name(const char *r)
{
    size_t n = strlen(r);
    return n > 0 && n <= 200 && r[0] != '.' && r[0] != '-' && r[0] != '_' &&
           strspn(r, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._-") == n;
}

static void
restore_one(const char *rule, double ts, void *ctx)
{
    (void)ctx;
    if (rule_name(rule))
        ar_metrics_matched(rule, (time_t)ts);
}

/* The file is ours, written by rename: anything else in its place (a
 * symbolic link to /dev/zero once made the start spin forever) is
 * refused, not followed, and only a bounded regular file is read. */
void
ar_metrics_restore(const char *path)
{
    char why[AR_FILE_WHY];
    int rc = ar_metrics_read_last_match(path, AR_FILE_NOFOLLOW, restore_one,
                                        NULL, why, sizeof(why));
    if (rc == 0)
        ar_log(LOG_INFO, "last-match times restored from %s", path);
    else if (rc != -1 || errno != ENOENT)
        ar_log(LOG_WARNING, "cannot restore last-match times from %s: %s", path,
               why);
}

/* every metric, in Prometheus text format, to f (lock held) */
static void
emit(FILE *f, bool help)
{
    if (help)
        fputs("# HELP authrelay_decisions_total Recipient and sender-login "
              "decisions, by decision and rule.\n"
              "# TYPE authrelay_decisions_total counter\n",
              f);
    struct table decisions = decisions_total();
    for (size_t i = 0; decisions.v && i <= decisions.mask; i++) {
        const struct entry *e = &decisions.v[i];
        if (e->key == NULL)
            continue;
        const char *sep = strchr(e->key, '\x1f');
        fprintf(f,
                "authrelay_decisions_total{decision=\"%.*s\",rule=\"%s\"} "
                "%.0f\n",
                (int)(sep - e->key), e->key, sep + 1, e->value);
    }
    table_free(&decisions);
    if (help)
        fputs("# HELP " AR_METRIC_LAST_MATCH " When an exception last "
              "matched (Unix time).\n"
              "# TYPE " AR_METRIC_LAST_MATCH " gauge\n",
              f);
    for (size_t i = 0; last_match.v && i <= last_match.mask; i++)
        if (last_match.v[i].key)
            fprintf(f, AR_METRIC_LAST_MATCH "{rule=\"%s\"} %.0f\n",
                    last_match.v[i].key, last_match.v[i].value);
    if (help)
        fputs("# HELP authrelay_reloads_total Policy reloads, by result.\n"
              "# TYPE authrelay_reloads_total counter\n",
              f);
    fprintf(f, "authrelay_reloads_total{result=\"ok\"} %llu\n",
            (unsigned long long)reloads_ok);
    fprintf(f, "authrelay_reloads_total{result=\"failed\"} %llu\n",
            (unsigned long long)reloads_failed);
    if (help)
        fputs("# HELP authrelay_policy_info The policy in force, by the "
              "SHA-256 of its text.\n"
              "# TYPE authrelay_policy_info gauge\n",
              f);
    fprintf(f, "authrelay_policy_info{sha256=\"%s\"} 1\n", policy_sha);
    if (help)
        fputs("# HELP authrelay_policy_load_seconds How long loading the "
              "policy in force took.\n"
              "# TYPE authrelay_policy_load_seconds gauge\n",
              f);
    fprintf(f, "authrelay_policy_load_seconds %.6f\n", policy_load_seconds);
    if (help)
        fputs("# HELP authrelay_log_lines_dropped_total Log lines dropped "
              "because syslog did not take them in time.\n"
              "# TYPE authrelay_log_lines_dropped_total counter\n",
              f);
    fprintf(f, "authrelay_log_lines_dropped_total %llu\n", ar_log_dropped());
}

/* the mode a new file gets, 0666 less the umask, as fopen() had it */
static mode_t file_mode;
static pthread_once_t file_mode_once = PTHREAD_ONCE_INIT;

static void
get_file_mode(void)
{
    mode_t mask = umask(0); /* no other thread creates files meanwhile */
    umask(mask);
    file_mode = 0666 & ~mask;
}

/* Written to a new file of a random name beside path (O_EXCL: whatever
 * someone who can write the directory put there is never opened, let
 * alone followed), then renamed over path. */
int
ar_metrics_write(const char *path)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >=
        sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    pthread_once(&file_mode_once, get_file_mode);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    FILE *f = NULL;
    if (fchmod(fd, file_mode) < 0 || (f = fdopen(fd, "w")) == NULL) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    pthread_mutex_lock(&lock);
    emit(f, true);
    pthread_mutex_unlock(&lock);
    int err = ferror(f) ? EIO : 0;
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        err = errno;
    if (fclose(f) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        unlink(tmp);
        errno = err;
        return -1;
    }
    return 0;
}

void
ar_metrics_log(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return;
    pthread_mutex_lock(&lock);
    emit(f, false);
    pthread_mutex_unlock(&lock);
    fclose(f);
    char *save, *line = strtok_r(buf, "\n", &save);
    for (; line; line = strtok_r(NULL, "\n", &save))
        ar_log(LOG_INFO, "metrics: %s", line);
    free(buf);
}

/* ---- the metrics thread ------------------------------------------------ */

/* libmilter's own (exported, undeclared) reader of its stop flag */
extern int mi_stop(void);

static pthread_t timer;
static atomic_bool timer_stopping;

/* write the metrics file, if the policy in force names one */
static void
write_metrics(bool and_log)
{
    struct ar_policy *p = ar_snapshot_acquire(&ar_d.snap);
    const char *path = p ? ar_policy_metrics_file(p) : NULL;
    if (path && ar_metrics_write(path) < 0)
        ar_log(LOG_WARNING, "cannot write metrics to %s: %m", path);
    if (and_log)
        ar_metrics_log();
    if (p)
        ar_policy_unref(p);
}

static unsigned
metrics_interval(void)
{
    struct ar_policy *p = ar_snapshot_acquire(&ar_d.snap);
    unsigned s =
        p && ar_policy_metrics_file(p) ? ar_policy_metrics_interval(p) : 0;
    if (p)
        ar_policy_unref(p);
    return s;
}

static void *
timer_thread(void *arg)
{
    sigset_t set;
    bool last_word = false;
    struct timespec last, now;
    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    clock_gettime(CLOCK_MONOTONIC, &last);
    while (!atomic_load(&timer_stopping)) {
        struct timespec tick = {0, 100 * 1000 * 1000};
        if (sigtimedwait(&set, NULL, &tick) == SIGUSR2) {
            write_metrics(true);
        } else if (!last_word && mi_stop() != 0) {
            write_metrics(false); /* the last word before we go */
            last_word = true;
        }
        unsigned every = metrics_interval();
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (every && now.tv_sec - last.tv_sec >= (time_t)every) {
            write_metrics(false);
            last = now;
        }
    }
    if (!last_word) /* the stop came before our next tick */
        write_metrics(false);
    return NULL;
}

int
ar_metrics_start(void)
{
    return pthread_create(&timer, NULL, timer_thread, NULL) == 0 ? 0 : -1;
}

void
ar_metrics_stop(void)
{
    atomic_store(&timer_stopping, true);
    pthread_join(timer, NULL); /* it looks at the flag every 100 ms */
}
