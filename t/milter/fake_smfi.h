/*
 * fake_smfi.h - a link-time stand-in for the libmilter calls that
 * milter/callbacks.c makes (smfi_getsymval, smfi_setreply, smfi_getpriv,
 * smfi_setpriv, smfi_setsymlist), over an SMFICTX of our own, and for
 * the daemon's log (ar_log, ar_log_syslog, ar_log_parts), whose lines it
 * keeps. Linked with callbacks.c in place of libmilter (and of log.c's
 * writer: log.c is built with those three renamed, for ar_log_clean), it
 * lets a test call the callbacks (ar_filter) stage by stage, setting the
 * macros the MTA would send before each, without a daemon or a socket.
 */
#ifndef AR_T_FAKE_SMFI_H
#define AR_T_FAKE_SMFI_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

/* the stages at which an MTA sends macros, in order */
enum fake_stage { FAKE_CONNECT, FAKE_HELO, FAKE_MAIL, FAKE_RCPT, FAKE_STAGES };

#define FAKE_MACROS 8 /* per stage */

struct smfi_str {
    /* name, value, ..., NULL: what the MTA sent for each stage */
    const char *macro[FAKE_STAGES][2 * FAKE_MACROS + 1];
    void *priv;
    char symlist[SMFIM_EOM + 1][256]; /* what smfi_setsymlist() asked for */
    bool fail_setpriv, fail_setreply; /* make them fail */
    int replies;                      /* smfi_setreply() calls that took */
    char reply[1024];                 /* the last: "CODE XCODE TEXT" */
};

void fake_ctx_init(SMFICTX *ctx);
/* the macros the MTA sends before stage's callback: name, value pairs,
 * NULL-terminated (pairs NULL: none); as in libmilter they replace that
 * stage's and clear the later stages' (a new MAIL forgets the last
 * RCPT's) */
void fake_macros(SMFICTX *ctx, enum fake_stage stage, const char *const *pairs);

/* the log: every line since the last fake_log_reset(), each ending in a
 * newline; the priority is not kept */
const char *fake_log(void);
void fake_log_reset(void);

#endif
