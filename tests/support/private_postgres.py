#!/usr/bin/env python3
"""private_postgres.py: a private PostgreSQL server for tests (issue 14), never the
system instance: initdb into a fresh temporary directory, a free loopback port, the unix
socket in that directory, trust authentication for the one superuser "mxguard".
As root (as tests run here) the server runs as the unprivileged user "nobody" (initdb
and postgres refuse root); the directory is handed to that user.

As a module:  pg = PrivatePostgres(); pg.start(); pg.dsn; pg.stop(); pg.start() (same
              data, same port: an outage and its end); pg.psql("SELECT 1"); pg.destroy()
As a command: private_postgres.py run -- CMD ARGS...   starts a server, runs CMD with
              MXG_PG_DSN set, stops it; exits with CMD's status.
Exit 77 when the PostgreSQL server binaries are missing (ctest: skipped).
Tests wait on events (pg_ctl -w waits until the server accepts connections)."""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

SKIP = 77


def find_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "pg_ctl")):
            return d
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PrivatePostgres:
    def __init__(self, fast=True):
        self.bindir = find_bindir()
        self.fast = fast  # fsync off: tests need no durability across a power cut
        self.dir = None
        self.port = None
        self.user = None

    def available(self):
        return self.bindir is not None

    def _as_user(self, argv, **kw):
        if os.geteuid() == 0:
            argv = ["runuser", "-u", self.user, "--"] + argv
        return subprocess.run(argv, **kw)

    def _init(self):
        self.dir = tempfile.mkdtemp(prefix="mxg-pg-", dir="/tmp")
        self.port = free_port()
        self.user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        if os.geteuid() == 0:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        os.chmod(self.dir, 0o700)
        r = self._as_user([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", "mxguard",
                           "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                          capture_output=True, text=True, cwd="/tmp")
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stdout + r.stderr)
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\n" % self.port)
            f.write("unix_socket_directories = '%s'\n" % self.dir)
            f.write("max_connections = 50\nshared_buffers = 32MB\n")
            if self.fast:
                f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    @property
    def data(self):
        return os.path.join(self.dir, "data")

    @property
    def dsn(self):
        return "postgresql://mxguard@127.0.0.1:%d/postgres" % self.port

    def start(self):
        if self.dir is None:
            self._init()
        r = self._as_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-l",
                           os.path.join(self.dir, "server.log"), "-w", "-t", "60", "start"],
                          capture_output=True, text=True, cwd="/tmp")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stdout + r.stderr + self.log())
        return self

    def stop(self, mode="fast"):
        if self.dir is None:
            return
        self._as_user([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-m", mode, "-w",
                       "stop"], capture_output=True, text=True, cwd="/tmp")

    def psql(self, sql):
        """Runs SQL; returns stdout (unaligned, tuples only)."""
        psql = os.path.join(self.bindir, "psql")
        r = subprocess.run([psql, "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", self.dsn, "-c",
                            sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        return r.stdout.strip()

    def log(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def destroy(self):
        self.stop("immediate")
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.destroy()


def main(argv):
    if len(argv) < 3 or argv[1] != "run" or "--" not in argv:
        print("usage: private_postgres.py run -- CMD ARGS...", file=sys.stderr)
        return 2
    cmd = argv[argv.index("--") + 1:]
    pg = PrivatePostgres()
    if not pg.available():
        print("SKIP: PostgreSQL server binaries (/usr/lib/postgresql/*/bin) not installed")
        return SKIP
    try:
        pg.start()
    except RuntimeError as e:
        print("private_postgres:", e, file=sys.stderr)
        pg.destroy()
        return 1
    try:
        env = dict(os.environ, MXG_PG_DSN=pg.dsn)
        return subprocess.run(cmd, env=env).returncode
    finally:
        pg.destroy()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
