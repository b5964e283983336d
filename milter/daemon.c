/* daemon.c - the state the daemon's threads share (see daemon.h) */
#include "daemon.h"

struct ar_daemon ar_d;
