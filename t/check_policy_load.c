/*
 * check_policy_load.c - the loader: the shipped policy and the fixtures
 * load; every t/data/bad/ *.conf fails with the errors its "# expect:" lines
 * name ("# expect: LINE: substring" for the file itself, or
 * "# expect: FILE:LINE: substring" for a *_files list it reads).
 */
#define _GNU_SOURCE
#include <check.h>

#include "check_tmp.h"
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h" /* built here with AR_TEST_SEAMS: ar_test_after_read */
#include "policy.h"

#define BAD_DIR AR_TEST_DATA "/bad"
#define MIN_BAD_FIXTURES 45

static int64_t
day(const char *s)
{
    return ar_parse_date(s);
}

static void
dump(const struct ar_diags *d, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->n && n < size; i++) {
        char line[1024];
        ar_diag_format(&d->v[i], line, sizeof(line));
        n += (size_t)snprintf(buf + n, size - n, "\n    %s", line);
    }
}

START_TEST(test_shipped_policy)
{
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p =
        ar_policy_load(AR_ETC "/authrelay.conf", day("2026-01-01"), &d);
    char buf[4096];
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(p != NULL, "shipped policy does not load:%s", buf);
    ck_assert_msg(d.n == 0, "shipped policy has diagnostics:%s", buf);
    ar_policy_lint(p, day("2026-01-01"), &d);
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(d.n == 0, "shipped policy has lint warnings:%s", buf);
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    ck_assert_uint_eq(st.exceptions, 7);
    ck_assert_int_eq(ar_policy_mode(p), AR_MODE_ENFORCE);
    ck_assert_int_eq(ar_policy_on_error(p), AR_ONERR_TEMPFAIL);
    ck_assert_str_eq(ar_policy_socket(p), "unix:/run/authrelay/authrelay.sock");
    ar_policy_unref(p);
    ar_diags_free(&d);
}
END_TEST

START_TEST(test_fixtures_load)
{
    static const char *const good[] = {"forms.conf", "order.conf"};
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        struct ar_diags d;
        char buf[4096];
        snprintf(path, sizeof(path), "%s/%s", AR_TEST_DATA, good[i]);
        ar_diags_init(&d);
        struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
        dump(&d, buf, sizeof(buf));
        ck_assert_msg(p != NULL, "%s:%s", good[i], buf);
        ar_policy_unref(p);
        ar_diags_free(&d);
    }
}
END_TEST

/* Check one bad fixture; returns a malloc'ed failure text or NULL. */
static char *
check_bad(const char *name)
{
    char path[512], line[512], buf[8192];
    struct ar_diags d;
    char *fail = NULL;
    int nexpect = 0;

    snprintf(path, sizeof(path), "%s/%s", BAD_DIR, name);
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
    dump(&d, buf, sizeof(buf));
    if (p != NULL) {
        ar_policy_unref(p);
        if (asprintf(&fail, "%s: loaded, want an error", name) < 0)
            abort();
        ar_diags_free(&d);
        return fail;
    }
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "# expect: ", 10) != 0)
            continue;
        nexpect++;
        line[strcspn(line, "\n")] = '\0';
        /* "[FILE:]LINE: substring" */
        char *spec = line + 10, *file = NULL;
        char *colon = strchr(spec, ':');
        if (colon && (spec[0] < '0' || spec[0] > '9')) {
            file = spec;
            *colon = '\0';
            spec = colon + 1;
        }
        unsigned want_line = (unsigned)strtoul(spec, &spec, 10);
        const char *want = spec + 2;
        bool found = false;
        for (size_t i = 0; i < d.n && !found; i++) {
            const struct ar_diag *g = &d.v[i];
            const char *base = g->file ? strrchr(g->file, '/') : NULL;
            base = base ? base + 1 : g->file;
            found = !g->warning && g->line == want_line &&
                    strstr(g->msg, want) != NULL && base &&
                    strcmp(base, file ? file : name) == 0;
        }
        if (!found) {
            if (asprintf(&fail, "%s: want error %s:%u: %s, got:%s", name,
                         file ? file : name, want_line, want, buf) < 0)
                abort();
            break;
        }
    }
    if (f)
        fclose(f);
    if (!fail && nexpect == 0 && asprintf(&fail, "%s: no # expect", name) < 0)
        abort();
    if (!fail && d.nerrors < (size_t)nexpect &&
        asprintf(&fail, "%s: %zu errors, want %d:%s", name, d.nerrors, nexpect,
                 buf) < 0)
        abort();
    ar_diags_free(&d);
    return fail;
}

START_TEST(test_bad_fixtures)
{
    DIR *dir = opendir(BAD_DIR);
    struct dirent *de;
    int n = 0, failed = 0;
    char *first = NULL;

    ck_assert_msg(dir != NULL, "cannot open %s", BAD_DIR);
    while ((de = readdir(dir)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        n++;
        char *fail = check_bad(de->d_name);
        if (fail) {
            fprintf(stderr, "FAIL %s\n", fail);
            failed++;
            if (first == NULL)
                first = fail;
            else
                free(fail);
        }
    }
    closedir(dir);
    ck_assert_msg(n >= MIN_BAD_FIXTURES, "only %d bad fixtures, want >= %d", n,
                  MIN_BAD_FIXTURES);
    ck_assert_msg(failed == 0, "%d of %d fixtures failed; first: %s", failed, n,
                  first ? first : "");
}
END_TEST

START_TEST(test_missing_file)
{
    struct ar_diags d;
    ar_diags_init(&d);
    ck_assert_ptr_null(ar_policy_load("/nonexistent/authrelay.conf", 0, &d));
    ck_assert_uint_eq(d.nerrors, 1);
    ck_assert_ptr_nonnull(strstr(d.v[0].msg, "cannot read"));
    ar_diags_free(&d);
}
END_TEST

/* An exception past its expiry date loads, with a warning naming it. */
START_TEST(test_expired_warning)
{
    struct ar_diags d;
    char path[512];
    snprintf(path, sizeof(path), "%s/order.conf", AR_TEST_DATA);
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, day("2026-01-01"), &d);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(d.nwarnings, 1);
    ck_assert_uint_eq(d.v[0].line, 12);
    ck_assert_ptr_nonnull(strstr(d.v[0].msg, "exception expired expired on "
                                             "2020-01-01"));
    ar_policy_unref(p);
    ar_diags_free(&d);
}
END_TEST

/* A million domains from a file load (the time is the benchmark's job). */
START_TEST(test_million_domains)
{
    char dir[256];
    char path[600], list[600];
    ck_assert_ptr_nonnull(test_mkdtemp(dir, sizeof(dir), "ar_million"));
    snprintf(list, sizeof(list), "%s/domains", dir);
    snprintf(path, sizeof(path), "%s/policy.conf", dir);
    FILE *f = fopen(list, "w");
    for (int i = 0; i < 1000000; i++)
        fprintf(f, "%sdomain%d.example\n", i % 3 == 0 ? "." : "", i);
    fclose(f);
    f = fopen(path, "w");
    fprintf(f, "version = 1;\nrelay = { local_domains_files = [ \"domains\" "
               "]; };\n");
    fclose(f);
    struct ar_diags d;
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(path, 0, &d);
    ck_assert_ptr_nonnull(p);
    struct ar_policy_stats st;
    ar_policy_stats(p, &st);
    ck_assert_uint_eq(st.local_domains, 1000000);
    struct ar_request r = {.rcpt = "<u@x.domain999999.example>"};
    struct ar_verdict v;
    ck_assert_int_eq(ar_policy_eval(p, &r, &v), AR_ACCEPT);
    ck_assert_str_eq(v.rule, "local");
    r.rcpt = "<u@domain999999.example>";
    ck_assert_int_eq(ar_policy_eval(p, &r, &v), AR_REJECT);
    ar_policy_unref(p);
    ar_diags_free(&d);
    unlink(list);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- files that are not what a policy expects ------------------------- */

static char tdir[64];

static const char *
tpath(const char *name)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    snprintf(b, sizeof(buf[0]), "%s/%s", tdir, name);
    return b;
}

static void
put(const char *name, const char *text)
{
    FILE *f = fopen(tpath(name), "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

static void
tdir_make(void)
{
    snprintf(tdir, sizeof(tdir), "/tmp/ar_load_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tdir));
}

static void
tdir_remove(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* the load of policy.conf in tdir fails, with an error holding want at
 * file:line (file: a base name) */
static void
load_fails_with(const char *file, unsigned line, const char *want)
{
    struct ar_diags d;
    char buf[4096];
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(tpath("policy.conf"), 0, &d);
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(p == NULL, "loaded, want an error with %s", want);
    bool found = false;
    for (size_t i = 0; i < d.n && !found; i++) {
        const char *base = d.v[i].file ? strrchr(d.v[i].file, '/') : NULL;
        found = base && strcmp(base + 1, file) == 0 && d.v[i].line == line &&
                strstr(d.v[i].msg, want) != NULL;
    }
    ck_assert_msg(found, "want %s:%u: %s, got:%s", file, line, want, buf);
    ar_diags_free(&d);
}

/* A FIFO named as a list: refused at once with what it is (it used to
 * be opened for reading, which waits for a writer forever: a reload
 * that never ends, and a daemon that can no longer stop). */
START_TEST(test_fifo_list)
{
    tdir_make();
    ck_assert_int_eq(mkfifo(tpath("fifo"), 0600), 0);
    put("policy.conf", "version = 1;\nrelay = { local_domains = [ "
                       "\"example.com\" ];\n"
                       "  local_domains_files = [ \"fifo\" ]; };\n");
    load_fails_with("policy.conf", 3, "a FIFO, not a regular file");
    /* the policy file itself, too */
    ck_assert_int_eq(rename(tpath("fifo"), tpath("policy.conf")), 0);
    load_fails_with("policy.conf", 0, "cannot read: a FIFO");
    tdir_remove();
}
END_TEST

/* Memory runs out while a list is read: an error, never a shorter list
 * (glibc's getline() sets no error flag on ENOMEM, and the old reader
 * took it for the end of the file: the policy loaded with its first
 * domain only). Real exhaustion: a child with RLIMIT_AS a little above
 * what it uses, and a list larger than that. */
START_TEST(test_list_out_of_memory)
{
#ifdef __SANITIZE_ADDRESS__
    return; /* ASan reserves terabytes of address space: no RLIMIT_AS */
#endif
    enum { BIG = 48 << 20, ROOM = 24 << 20 };
    tdir_make();
    FILE *f = fopen(tpath("big.list"), "w");
    ck_assert_ptr_nonnull(f);
    fputs("first.example\n", f);
    for (int i = 0; i < BIG / 64; i++)
        fputs(
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            f);
    fputs("\nlast.example\n", f);
    ck_assert_int_eq(fclose(f), 0);
    put("policy.conf", "version = 1;\nrelay = { local_domains_files = [ "
                       "\"big.list\" ]; };\n");
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        long kb = 0;
        char line[256];
        FILE *st = fopen("/proc/self/status", "r");
        while (st && fgets(line, sizeof(line), st))
            if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
                break;
        if (kb <= 0)
            _exit(3);
        struct rlimit rl = {(rlim_t)kb * 1024 + ROOM, (rlim_t)kb * 1024 + ROOM};
        if (setrlimit(RLIMIT_AS, &rl) < 0)
            _exit(3);
        struct ar_diags d;
        ar_diags_init(&d);
        struct ar_policy *p = ar_policy_load(tpath("policy.conf"), 0, &d);
        if (p != NULL)
            _exit(1); /* loaded: a list cut short was taken as whole */
        for (size_t i = 0; i < d.n; i++)
            if (strstr(d.v[i].msg, "out of memory"))
                _exit(0);
        _exit(2);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    tdir_remove();
    ck_assert_msg(WIFEXITED(status), "the child died (%d)", status);
    ck_assert_msg(WEXITSTATUS(status) != 1,
                  "out of memory, the list loaded cut short");
    ck_assert_msg(WEXITSTATUS(status) == 0,
                  "want an out-of-memory error, child exit %d",
                  WEXITSTATUS(status));
}
END_TEST

/* The seam: a writer that appends to a file right after the loader has
 * read one (named by read_by), as an editor writing in place would in
 * the middle of a reload. Deterministic, where racing a real writer
 * against a reload is not. */
static const char *read_by, *append_to, *append_text;

static void
append_after_read(const char *path, int fd)
{
    (void)fd;
    const char *base = strrchr(path, '/');
    if (read_by == NULL || strcmp(base ? base + 1 : path, read_by) != 0)
        return;
    read_by = NULL;            /* once */
    if (append_text == NULL) { /* replaced by rename instead */
        ck_assert_int_eq(rename(tpath("new.conf"), tpath(append_to)), 0);
        return;
    }
    int w = open(tpath(append_to), O_WRONLY | O_APPEND);
    ck_assert_int_ge(w, 0);
    ck_assert_int_eq(write(w, append_text, strlen(append_text)),
                     (ssize_t)strlen(append_text));
    close(w);
}

static const char first_half[] =
    "version = 1;\nrelay = { local_domains = [ \"example.com\" ];\n"
    "  local_domains_files = [ \"domains.list\" ]; };\n";
static const char second_half[] =
    "exceptions = ( { name = \"isp\"; match = { client_networks = [ "
    "\"192.0.2.0/24\" ]; }; action = \"reject\"; } );\n";

/* policy.conf holds a valid first half; when the file read_by has been
 * read, text is appended to the file to (text NULL: new.conf is renamed
 * over it) */
static void
half_written(const char *by, const char *to, const char *text)
{
    tdir_make();
    put("policy.conf", first_half);
    put("domains.list", "example.org\n");
    read_by = by;
    append_to = to;
    append_text = text;
    ar_test_after_read = append_after_read;
}

static void
half_written_done(void)
{
    ar_test_after_read = NULL;
    ck_assert_msg(read_by == NULL, "the writer never ran");
    tdir_remove();
}

/* The policy grows while it is read: its first half is a valid policy
 * (the cut fell on a statement boundary), and used to be applied. */
START_TEST(test_policy_changed_during_read)
{
    half_written("policy.conf", "policy.conf", second_half);
    load_fails_with("policy.conf", 0, "changed while it was read");
    half_written_done();
}
END_TEST

/* The policy is written after it was read, while a list is read: caught
 * when all is loaded. */
START_TEST(test_policy_changed_during_load)
{
    half_written("domains.list", "policy.conf", second_half);
    load_fails_with("policy.conf", 0, "changed while the policy was loading");
    half_written_done();
}
END_TEST

/* A list grows while it is read. */
START_TEST(test_list_changed_during_read)
{
    half_written("domains.list", "domains.list", "example.net\n");
    load_fails_with("policy.conf", 3,
                    "domains.list: changed while it was read");
    half_written_done();
}
END_TEST

/* A policy replaced by rename while a list is read is no error: what was
 * read was whole. */
START_TEST(test_policy_renamed_during_load)
{
    half_written("domains.list", "policy.conf", NULL);
    char text[512];
    snprintf(text, sizeof(text), "%s%s", first_half, second_half);
    put("new.conf", text);
    struct ar_diags d;
    char buf[4096];
    ar_diags_init(&d);
    struct ar_policy *p = ar_policy_load(tpath("policy.conf"), 0, &d);
    dump(&d, buf, sizeof(buf));
    ck_assert_msg(p != NULL, "renamed over during the load:%s", buf);
    ar_policy_unref(p);
    ar_diags_free(&d);
    half_written_done();
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("policy_load");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_shipped_policy);
    tcase_add_test(tc, test_fixtures_load);
    tcase_add_test(tc, test_bad_fixtures);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_expired_warning);
    tcase_add_test(tc, test_million_domains);
    tcase_add_test(tc, test_fifo_list);
    tcase_add_test(tc, test_list_out_of_memory);
    tcase_add_test(tc, test_policy_changed_during_read);
    tcase_add_test(tc, test_policy_changed_during_load);
    tcase_add_test(tc, test_list_changed_during_read);
    tcase_add_test(tc, test_policy_renamed_during_load);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
