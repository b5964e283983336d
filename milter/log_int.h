/*
 * log_int.h - what log.c and log_stream.c share; nothing else includes
 * it. Only the writer thread waits or uses the journal's stream.
 */
#ifndef AR_LOG_INT_H
#define AR_LOG_INT_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#define LOG_PATH "/dev/log"
#define IDENT "authrelay"

/* would a send have had to wait? (the receiver's queue or our buffer
 * full) */
static inline bool
ar_log_would_wait(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

enum sent { SENT, FULL, GONE };

/* set by ar_log_close(): the writer is to stop (its waits are cut) */
extern atomic_bool ar_log_stopping;
/* ar_log_wait_reset - a new writer: no stop seen yet */
void ar_log_wait_reset(void);
/* ar_log_wait_writable - true when s can take data again; false once a
 * stop has waited its grace */
bool ar_log_wait_writable(int s);
/* ar_log_send_all - the whole of iov[0..n) to s (see log_stream.c) */
enum sent ar_log_send_all(int s, struct iovec *iov, size_t n, size_t *done);
/* ar_log_journal - the stream to journald, connected if it can be (an
 * attempt a second at most); -1 when there is none */
int ar_log_journal(void);
void ar_log_journal_close(void);

#endif
