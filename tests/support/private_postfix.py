"""private_postfix.py: a PRIVATE Postfix instance for integration tests (its own
config_directory, queue_directory and data_directory under a temporary directory;
smtpd on a free 127.0.0.1 port; never the system instance), as
tests/integration/policy_service_postfix.py starts one. The caller gives the main.cf
settings of its case (`extra`, appended to the common ones). Needs root (Postfix's
master); start() exits 77 (skip) with the reason when Postfix cannot start.
"""
import os
import shutil
import socket
import subprocess
import sys
import time

from mxg_gateway_harness import free_port

POSTFIX = "/usr/sbin/postfix"
MASTER = "/usr/lib/postfix/sbin/master"
TIMEOUT = 20

MASTER_CF = """\
{smtpd_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {pf}/queue
data_directory = {pf}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-mxgtest
maillog_file = {pf}/maillog
maillog_file_prefixes = {pf}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def available():
    """None when a private Postfix can run here, else the reason it cannot."""
    if os.geteuid() != 0:
        return "Postfix's master must run as root"
    for tool in (POSTFIX, MASTER):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed (scripts/install-deps installs postfix)"
    return None


class PrivatePostfix:
    def __init__(self, tmp, extra):
        self.pf = os.path.join(tmp, "pf")
        self.etc = os.path.join(self.pf, "etc")
        self.port = free_port()
        os.makedirs(self.etc)
        os.makedirs(os.path.join(self.pf, "queue"))
        os.makedirs(os.path.join(self.pf, "data"))
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(pf=self.pf) + extra)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtpd_port=f"127.0.0.1:{self.port}"))
        shutil.chown(os.path.join(self.pf, "data"), "postfix", "postfix")
        self.started = False

    def run(self, *args):
        return subprocess.run([POSTFIX, "-c", self.etc, *args], capture_output=True, text=True,
                              timeout=60)

    def start(self):
        r = self.run("start")
        if r.returncode != 0:
            skip(f"private postfix did not start (exit {r.returncode}): {r.stdout}{r.stderr}"
                 f"{self.log()[-2000:]}".strip())
        self.started = True
        deadline = time.time() + TIMEOUT
        while not listening(self.port):
            if time.time() > deadline:
                skip(f"private postfix smtpd does not listen on 127.0.0.1:{self.port}: "
                     f"{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self):
        if self.started:
            r = self.run("stop")
            if r.returncode != 0:
                print(f"postfix stop: {r.stdout}{r.stderr}")
            self.started = False

    def log(self):
        try:
            with open(os.path.join(self.pf, "maillog"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""
