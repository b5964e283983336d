# the shipped policy, edited: EarthLink's rule gone, AOL's IPv6 range
# dropped, a partner permitted until 2026-12-04, a dry run added
/^  {$/{N;/name = "earthlink";/{:a;N;/\n  },$/!ba;d}}
s|"198.51.100.0/24", "2001:db8:a01::/48"|"198.51.100.0/24"|
/^exceptions = ($/a\
  { name = "old-partner"; match = { client_networks = [ "192.0.2.99" ]; };\
    action = "permit"; expires = "2026-12-04"; },\
  { name = "trial"; dry_run = true; match = { client_networks = [ "192.0.2.80" ]; };\
    action = "permit"; },
