/*
 * conn.h - what the daemon keeps about one MTA connection (one SMTP
 * session) and its current transaction.
 *
 * Created at negotiation (or connect), freed at close; owned by the
 * libmilter thread that serves the connection, so it needs no lock. The
 * policy is pinned at MAIL FROM and released at the next MAIL FROM or at
 * close: a transaction finishes under the policy it started with.
 */
#ifndef AR_CONN_H
#define AR_CONN_H

#include <stdbool.h>

#include "log.h"
#include "netset.h"
#include "policy.h"

#define AR_NAME_MAX 256
#define AR_ARG_MAX 512

struct ar_conn {
    unsigned long proto; /* protocol steps agreed with the MTA */
    /* connection */
    struct ar_ip addr;
    char client_name[AR_NAME_MAX];
    char client_addr_text[64];             /* "unknown" until connect says */
    char client_log[AR_LOG_FIELD_MAX + 1]; /* the name as logged */
    bool name_verified;
    bool have_helo;
    bool mail_macros_checked; /* the MAIL-macro check is made (once) */
    char helo[AR_NAME_MAX];
    /* transaction */
    struct ar_policy *policy; /* pinned at MAIL FROM; NULL outside one */
    char mail_from[AR_ARG_MAX];
    char from_log[AR_LOG_FIELD_MAX + 1]; /* the sender as logged, or <> */
    const char *broken;  /* MAIL failed where we could not answer: why */
    bool sender_refused; /* sender-login refused it: refuse every RCPT */
    /* Read at MAIL or the first RCPT and kept for the transaction: neither
     * changes inside one (RFC 4954 allows no AUTH there). */
    bool rcpt_macros_read;
    char login[AR_NAME_MAX];              /* {auth_authen}, cut; "": none */
    char login_log[AR_LOG_FIELD_MAX + 1]; /* as logged, or "-" */
    /* the queue id ("i") as logged once the MTA has one, kept; "NOQUEUE"
     * before */
    bool qid_known;
    char qid[AR_LOG_FIELD_MAX + 1];
    char sl_code[4], sl_xcode[12], sl_text[AR_REPLY_TEXT_MAX + 1];
};

struct ar_conn *ar_conn_new(void);
/* ar_conn_end_transaction - release the pin and forget the sender */
void ar_conn_end_transaction(struct ar_conn *c);
void ar_conn_free(struct ar_conn *c);

#endif
