/*
 * check_main.h - the main() every Check suite shares. A suite defines
 * `static Suite *suite(void)` and includes this file at its end.
 */
#include <check.h>
#include <stdlib.h>

static Suite *suite(void);

int
main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
