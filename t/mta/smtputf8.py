#!/usr/bin/python3
"""smtputf8.py - SMTPUTF8 (RFC 6531) for the MTA tests; swaks cannot
declare it, and smtp-sink does not offer it.

  smtputf8.py send PORT FROM RCPT...
      One session to 127.0.0.1:PORT as an Internet client (XCLIENT
      ADDR=192.0.2.99), MAIL FROM:<FROM> SMTPUTF8, each RCPT, and a message
      when one was accepted. Prints a line per reply:
      "RCPT <addr> CODE TEXT", "END CODE TEXT" after the message.
  smtputf8.py sink PORT DIR
      A next hop that offers SMTPUTF8 and 8BITMIME on 127.0.0.1:PORT; the
      envelope of each message it takes (MAIL and RCPT lines, as sent) in
      a file of its own under DIR. Runs until killed.
"""
import os
import smtplib
import socket
import sys


def send(port, sender, rcpts):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.command_encoding = "utf-8"

    def cmd(line):
        code, text = s.docmd(line)
        return "%d %s" % (code, text.decode("utf-8", "replace"))

    s.ehlo("client.test")
    print("XCLIENT", cmd("XCLIENT ADDR=192.0.2.99 NAME=client.example.net"))
    s.ehlo("client.test")
    print("EHLO", "smtputf8" if s.has_extn("smtputf8") else "no smtputf8")
    print("MAIL", cmd("MAIL FROM:<%s> SMTPUTF8" % sender))
    taken = 0
    for r in rcpts:
        reply = cmd("RCPT TO:<%s>" % r)
        print("RCPT <%s> %s" % (r, reply))
        taken += reply.startswith("250")
    if taken:
        print("DATA", cmd("DATA"))
        s.send(b"Subject: smtputf8\r\n\r\nhello\r\n.\r\n")
        code, text = s.getreply()
        print("END %d %s" % (code, text.decode("utf-8", "replace")))
    s.quit()


def session(c, f, outdir, n):
    """one SMTP session; returns how many messages were stored in all"""

    def say(text):
        f.write(text.encode() + b"\r\n")
        f.flush()

    say("220 utf8sink ESMTP")
    env = []
    for line in f:
        line = line.rstrip(b"\r\n")
        verb = line[:4].upper()
        if verb == b"EHLO":
            say("250-utf8sink\r\n250-8BITMIME\r\n250 SMTPUTF8")
        elif verb in (b"MAIL", b"RCPT"):
            env.append(line)
            say("250 2.1.0 Ok")
        elif verb == b"DATA":
            say("354 End data with <CR><LF>.<CR><LF>")
            for body in f:
                if body in (b".\r\n", b".\n"):
                    break
            n += 1
            with open(os.path.join(outdir, "%d.env" % n), "wb") as o:
                o.write(b"\n".join(env) + b"\n")
            env = []
            say("250 2.0.0 Ok")
        elif verb == b"QUIT":
            say("221 2.0.0 Bye")
            break
        else:  # HELO, RSET, NOOP
            env = [] if verb == b"RSET" else env
            say("250 Ok")
    return n


def sink(port, outdir):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(8)
    n = 0
    while True:
        c, _ = ls.accept()
        try:
            # a client that goes away (the tests' port probe connects and
            # closes at once) ends its session, never the sink
            n = session(c, c.makefile("rwb"), outdir, n)
        except OSError:
            pass
        finally:
            c.close()


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "send":
        send(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    elif len(sys.argv) == 4 and sys.argv[1] == "sink":
        sink(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit(__doc__)
