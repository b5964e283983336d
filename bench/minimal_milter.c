/*
 * minimal_milter - the baseline of the benchmark: the least a libmilter
 * filter can do to close a relay. It asks for RCPT only (MAIL with no
 * reply, for its macros), and rejects a recipient whose domain does not
 * end in ".example" unless {auth_authen} is set. No policy, no logging;
 * with -l, one syslog(3) line per recipient (a filter that logs each
 * decision, as authrelay must, the usual way).
 * usage: minimal_milter [-l] SOCKET
 */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static sfsistat
negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
          unsigned long f3, unsigned long *pf0, unsigned long *pf1,
          unsigned long *pf2, unsigned long *pf3)
{
    (void)ctx, (void)f0, (void)f2, (void)f3;
    *pf0 = 0;
    *pf1 = f1 & (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NR_MAIL | SMFIP_NOHDRS |
                 SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA);
    *pf2 = *pf3 = 0;
    return SMFIS_CONTINUE;
}

static sfsistat
mail(SMFICTX *ctx, char **argv)
{
    (void)ctx, (void)argv;
    return SMFIS_NOREPLY;
}

static int log_each;

static sfsistat
decided(const char *rcpt, const char *auth, const char *decision)
{
    if (log_each)
        syslog(LOG_INFO, "rcpt=%s decision=%s auth=%s", rcpt, decision,
               auth && *auth ? auth : "-");
    return SMFIS_CONTINUE;
}

static sfsistat
rcpt(SMFICTX *ctx, char **argv)
{
    const char *auth = smfi_getsymval(ctx, "{auth_authen}");
    if (auth && *auth)
        return decided(argv[0], auth, "accept");
    size_t n = strlen(argv[0]);
    if (n > 9 && strcmp(argv[0] + n - 9, ".example>") == 0)
        return decided(argv[0], auth, "accept");
    decided(argv[0], auth, "reject");
    smfi_setreply(ctx, "554", "5.7.1", "Relay access denied");
    return SMFIS_REJECT;
}

static struct smfiDesc desc = {
    .xxfi_name = "minimal",
    .xxfi_version = SMFI_VERSION,
    .xxfi_envfrom = mail,
    .xxfi_envrcpt = rcpt,
    .xxfi_negotiate = negotiate,
};

int
main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "-l") == 0) {
        log_each = 1;
        openlog("minimal", LOG_PID | LOG_NDELAY, LOG_MAIL);
        argv++, argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: minimal_milter [-l] SOCKET\n");
        return 64;
    }
    if (smfi_setconn(argv[1]) != MI_SUCCESS ||
        smfi_register(desc) != MI_SUCCESS ||
        smfi_setbacklog(1024) != MI_SUCCESS ||
        smfi_opensocket(1) != MI_SUCCESS) {
        fprintf(stderr, "minimal_milter: cannot open %s\n", argv[1]);
        return 71;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
