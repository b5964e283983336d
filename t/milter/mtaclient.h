/*
 * mtaclient.h - the MTA side of the milter protocol, version 6: what
 * Postfix and Sendmail send to a filter, for the daemon's tests and the
 * benchmark. Blocking I/O on one socket; one struct per connection.
 *
 * Packets are a 4-octet length in network order (counting the command
 * octet), a command octet, then data. See libmilter's mfdef.h for the
 * command and reply letters.
 */
#ifndef AR_MTACLIENT_H
#define AR_MTACLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the macro stages of SMFIF_SETSYMLIST (libmilter's SMFIM_*) */
enum {
    MC_CONNECT,
    MC_HELO,
    MC_ENVFROM,
    MC_ENVRCPT,
    MC_DATA,
    MC_EOM,
    MC_EOH,
    MC_STAGES
};

struct mc {
    int fd;
    uint32_t version, actions, proto; /* as the filter answered OPTNEG */
    char symlist[MC_STAGES][256];     /* the macros it asked for, by stage */
    int timeout_ms;
    /* batch: packets wait in out[] until a reply is read, the buffer is
     * full or QUIT is sent -- as Postfix's buffered stream sends a
     * waived step with the next one that is answered */
    bool batch;
    size_t outlen;
    char out[8192];
};

struct mc_reply {
    char cmd;        /* 'c' continue, 'r' reject, 't' tempfail, 'y' code... */
    char text[1024]; /* for 'y': "554 5.7.1 text" */
};

/* mc_open - connect to "unix:PATH", "local:PATH", "inet:PORT@HOST" or
 * "inet6:PORT@HOST"; -1 on error */
int mc_open(struct mc *m, const char *spec);
void mc_close(struct mc *m);
/* mc_negotiate - SMFIC_OPTNEG offering everything Postfix 3.7 offers */
int mc_negotiate(struct mc *m);
/* mc_macros - SMFIC_MACRO for stage ('C','H','M','R'); names and values
 * alternate, NULL-terminated */
int mc_macros(struct mc *m, char stage, ...);
/* mc_macrov - the same from an array of n names and values */
int mc_macrov(struct mc *m, char stage, const char *const *nv, size_t n);
/* mc_connect - family '4', '6' or 'U'; reply NULL-able (no reply wanted
 * when the filter asked for SMFIP_NR_CONN) */
int mc_connect(struct mc *m, const char *host, char family, const char *addr,
               struct mc_reply *r);
int mc_helo(struct mc *m, const char *helo, struct mc_reply *r);
int mc_mail(struct mc *m, const char *from, struct mc_reply *r);
int mc_rcpt(struct mc *m, const char *rcpt, struct mc_reply *r);
int mc_abort(struct mc *m);
int mc_quit(struct mc *m);
/* mc_send - a raw packet (for garbage tests) */
int mc_send(struct mc *m, char cmd, const void *data, size_t len);
/* mc_flush - write what batch mode holds back */
int mc_flush(struct mc *m);
/* mc_read_reply - the next reply that is not SMFIR_PROGRESS */
int mc_read_reply(struct mc *m, struct mc_reply *r);

#endif
