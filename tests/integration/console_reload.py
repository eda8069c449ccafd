#!/usr/bin/env python3
"""console_reload.py: SIGHUP reloads the web console's [console] users (issue 11,
docs/console.md "Users", docs/operations.md reload), against a real `mxguard serve` with
a real HTTP client; every step waits for the reload's log line, never on a timer:
  - a user added to the configuration can sign in after SIGHUP ("reload done" and
    "console reloaded users=2 added=1"), the signed-in admin's session goes on;
  - a role change applies to the user's next request (helpdesk -> admin: /api/exceptions
    answers 200 instead of 403) without signing in again;
  - a user removed from the configuration: after SIGHUP its session answers 401 and its
    login is refused ("console user removed user=desk sessions_ended=1");
  - a configuration the reload refuses (a plain-text password) changes nothing
    ("reload failed"), the users stay;
  - a changed listen address is logged as needing a restart, the console stays where
    it was.
Expected answers come from docs/console.md, not from running the code."""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, wait_log, free_port  # noqa: E402
from console_client import ConsoleApi, console_passwd  # noqa: E402

c = Checker()
admin_users = console_passwd(c, "admin", "admin pass 1")
desk_users = console_passwd(c, "desk", "desk pass 2", "--role", "helpdesk", "--domain",
                            "local.test")
cport = free_port()
top = f'[console]\nlisten = "127.0.0.1:{cport}"\n'
with Gateway(top=top + admin_users) as gw:
    with open(gw.config) as f:
        original = f.read()

    def reload_with(text, line="reload done"):
        with open(gw.config, "w") as f:
            f.write(text)
        n = gw.log_text().count(line)
        gw.proc.send_signal(signal.SIGHUP)
        return wait_log(gw, line, n) > n

    wait_log(gw, "console listening on http://127.0.0.1:")
    admin = ConsoleApi(cport)
    c.eq(admin.login("admin", "admin pass 1")[0], 200, "admin signs in")
    desk = ConsoleApi(cport)
    c.eq(desk.login("desk", "desk pass 2")[0], 401, "desk is not a user yet: 401")

    # Add desk.
    with_desk = original.replace(admin_users, admin_users + desk_users)
    c.ok(with_desk != original, "the configuration with desk differs")
    c.ok(reload_with(with_desk), "SIGHUP: reload done")
    c.ok("console reloaded users=2 added=1 removed=0 changed=0" in gw.log_text(),
         "the console logs the added user")
    c.eq(desk.login("desk", "desk pass 2")[0], 200, "the added user signs in")
    status, me = desk.call("GET", "/api/me")
    c.eq((status, (me or {}).get("role")), (200, "helpdesk"), "  as helpdesk")
    c.eq(desk.call("GET", "/api/exceptions")[0], 403, "  a helpdesk user: exceptions 403")
    c.eq(admin.call("GET", "/api/me")[0], 200, "the admin's session goes on across the reload")

    # desk becomes an admin: its next request has the new role, same session.
    as_admin = with_desk.replace(desk_users, desk_users.replace('role = "helpdesk"',
                                                                'role = "admin"'))
    c.ok(as_admin != with_desk, "the configuration with desk as admin differs")
    c.ok(reload_with(as_admin), "SIGHUP: reload done (role change)")
    c.ok("console reloaded users=2 added=0 removed=0 changed=1" in gw.log_text(),
         "the console logs the changed user")
    c.eq(desk.call("GET", "/api/exceptions")[0], 200, "desk's session now has the admin role")

    # A refused configuration: nothing changes.
    bad = as_admin + '[console.users.eve]\nrole = "admin"\npassword = "plain text"\n'
    c.ok(reload_with(bad, "reload failed"), "a plain-text password: reload failed")
    c.eq(desk.call("GET", "/api/me")[0], 200, "  desk's session still works")

    # Remove desk: its session and its login stop working.
    c.ok(reload_with(original), "SIGHUP: reload done (desk removed)")
    c.ok("console user removed user=desk sessions_ended=1" in gw.log_text(),
         "the console logs the removal and the ended session")
    c.eq(desk.call("GET", "/api/me")[0], 401, "the removed user's session answers 401")
    c.eq(ConsoleApi(cport).login("desk", "desk pass 2")[0], 401, "its login is refused")
    c.eq(admin.call("GET", "/api/me")[0], 200, "the admin's session goes on")

    # listen needs a restart: logged, the console stays.
    moved = original.replace(f'127.0.0.1:{cport}', f'127.0.0.1:{free_port()}')
    c.ok(reload_with(moved), "SIGHUP: reload done (listen changed)")
    c.ok("reload: [console] listen changed" in gw.log_text() and "restart" in gw.log_text(),
         "a listen change is logged as needing a restart")
    c.eq(admin.call("GET", "/api/me")[0], 200, "the console still serves on its address")
    c.ok(gw.proc.poll() is None, "the gateway runs")
c.done()
