/*
 * policies.h - the policy the daemon suites (harness.c) and the
 * callbacks' table (check_callbacks.c) decide under: local domains,
 * trusted networks, and an exception of each kind.
 */
#ifndef AR_T_POLICIES_H
#define AR_T_POLICIES_H

/* the reply of policy_fmt to a relay attempt */
#define RELAY_TEXT                                                             \
    "554 5.7.1 Relay access denied: authenticate with SMTP AUTH to send to "   \
    "other domains"

/* printf format: the mode, and more local domains (", \"a.test\"") */
static const char policy_fmt[] =
    "version = 1;\n"
    "milter = { mode = \"%s\"; on_error = \"tempfail\"; };\n"
    "relay = {\n"
    "  local_domains = [ \"example.com\", \".example.com\"%s ];\n"
    "  trusted_networks = [ \"10.0.0.0/8\", \"2001:db8:10::/48\" ];\n"
    "  reply = { code = \"554\"; xcode = \"5.7.1\";\n"
    "    text = \"Relay access denied: authenticate with SMTP AUTH to send "
    "to other domains\"; };\n"
    "};\n"
    "exceptions = (\n"
    "  { name = \"isp\"; match = { client_hostnames = [ \".isp.test\" ]; };\n"
    "    action = \"reject\"; reply = { code = \"550\"; xcode = \"5.7.1\";\n"
    "    text = \"ISP customers: use smtp.isp.test (100%% of them)\"; }; },\n"
    "  { name = \"busy\"; match = { client_networks = [ \"192.0.2.0/24\" ];\n"
    "    helo = [ \"busy.test\" ]; }; action = \"tempfail\";\n"
    "    reply = { code = \"451\"; xcode = \"4.7.1\"; text = \"Try later\"; "
    "}; },\n"
    "  { name = \"relays\"; match = { client_networks = [ "
    "\"198.51.100.0/24\", \"2001:db8:a01::/48\" ];\n"
    "    sender_is_local = true; }; action = \"permit\"; },\n"
    "  { name = \"exchange\"; match = { client_networks = [ "
    "\"203.0.113.25\" ];\n"
    "    sender_domains = [ \"acme.test\" ]; }; action = \"permit\"; }\n"
    ");\n";

/* printf format: the directory of the metrics file, and the mode of
 * sender_login; a dry-run exception over a reject of the same network */
static const char sl_policy[] =
    "version = 1;\n"
    "milter = { metrics_file = \"%s/metrics.prom\"; metrics_interval = 1; "
    "};\n"
    "relay = { local_domains = [ \"example.com\" ]; };\n"
    "sender_login = { mode = \"%s\";\n"
    "  map = ( { login = \"alice@example.com\"; senders = [ "
    "\"@example.org\" ]; } );\n"
    "  any_sender_logins = [ \"webmail@example.com\" ]; };\n"
    "exceptions = (\n"
    "  { name = \"staged\"; dry_run = true; match = { client_networks = [ "
    "\"192.0.2.0/24\" ]; }; action = \"permit\"; },\n"
    "  { name = \"isp\"; match = { client_networks = [ \"192.0.2.0/25\" ]; "
    "}; action = \"reject\"; }\n"
    ");\n";

#endif
