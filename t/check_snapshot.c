/*
 * check_snapshot.c - the reload holder under contention: 8 threads
 * acquire, decide and release while the main thread swaps policies in a
 * loop; every decision is one of the two policies' and every policy is
 * freed exactly once (run under TSan and ASan in CI).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"

static struct ar_snapshot snap;
static atomic_int stop;

static struct ar_policy *
load(const char *extra)
{
    char text[512];
    struct ar_diags d;
    int n = snprintf(text, sizeof(text),
                     "version = 1;\nrelay = { local_domains = [ "
                     "\"example.com\"%s ]; };\n",
                     extra);
    ar_diags_init(&d);
    struct ar_policy *p =
        ar_policy_load_string("snapshot", text, (size_t)n, ".", 0, &d);
    ar_diags_free(&d);
    ck_assert_ptr_nonnull(p);
    return p;
}

static void *
reader(void *arg)
{
    long bad = 0, n = 0;
    (void)arg;
    while (!atomic_load(&stop)) {
        struct ar_policy *p = ar_snapshot_acquire(&snap);
        struct ar_request r = {.rcpt = "<a@new.test>"};
        struct ar_verdict v;
        ar_policy_eval(p, &r, &v);
        /* either policy is fine; a freed one would crash or be garbage */
        if (strcmp(v.rule, "local") != 0 && strcmp(v.rule, "default") != 0)
            bad++;
        r.rcpt = "<a@example.com>";
        ar_policy_eval(p, &r, &v);
        if (strcmp(v.rule, "local") != 0)
            bad++;
        ar_policy_unref(p);
        n++;
    }
    return (void *)bad;
}

START_TEST(test_swap_under_readers)
{
    pthread_t t[8];
    ar_snapshot_init(&snap, load(""));
    atomic_store(&stop, 0);
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, reader, NULL);
    for (int i = 0; i < 20000; i++)
        ar_snapshot_swap(&snap, load(i % 2 ? ", \"new.test\"" : ""));
    atomic_store(&stop, 1);
    long bad = 0;
    for (int i = 0; i < 8; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        bad += (long)rv;
    }
    ar_snapshot_destroy(&snap);
    ck_assert_msg(bad == 0, "%ld wrong decisions", bad);
}
END_TEST

static Suite *
suite(void)
{
    Suite *s = suite_create("snapshot");
    TCase *tc = tcase_create("snapshot");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_swap_under_readers);
    suite_add_tcase(s, tc);
    return s;
}

#include "check_main.h"
