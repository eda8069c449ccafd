"""mxg_gateway_harness.py: shared helpers of the gateway integration tests
(tests/integration/gateway_*.py): start a private `mxguard serve` on a free
127.0.0.1 port with a temporary state directory, talk raw SMTP over a socket,
read the queue directory, and clean up. Everything is bounded in time.
"""
import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import shutil

MXGUARD = os.environ.get("MXGUARD", "build/mxguard")
TIMEOUT = 15  # seconds for any single wait


def free_port():
    """A port free on every address of both families, below the kernel's ephemeral range:
    an OS-chosen (ephemeral) port can be taken by another test's client socket before the
    server binds it, and a wildcard listener then fails with EADDRINUSE."""
    import random
    lo = 32768
    try:
        lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    for _ in range(200):
        port = random.randrange(10000, max(lo, 10001))
        try:
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            s.bind(("::", port))
        except OSError:
            try:
                s.close()
                s = socket.socket()
                s.bind(("0.0.0.0", port))
            except OSError:
                s.close()
                continue
        s.close()
        return port
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


MSG_TRAILER = re.compile(rb"mxguard-end: ([0-9A-F]{18}) ([0-9a-f]{16}) ([0-9a-f]{8})\n\Z")
MSG_TRAILER_SIZE = 58


# The queue formats (docs/queue.md "Queue formats", src/queue/queue_dir.hpp):
# split (A): messages/<id>.data + messages/<id>.ctl; single (B): messages/<id>.msg
# (data, envelope, end marker) and messages/<id>.st once its state changed.
QUEUE_FORMATS = ("split", "single")
# What the server writes when [queue] format is not set (kQueueFormatDefault).
DEFAULT_QUEUE_FORMAT = "single"
QUEUE_SUFFIXES = (".ctl", ".data", ".msg", ".st")  # every file of a committed message


def current_queue_format(explicit=None):
    """The queue format a test runs with: `explicit`, else $MXG_QUEUE_FORMAT (tests/
    CMakeLists.txt runs the queue tests once per format), else the server's default."""
    f = explicit or os.environ.get("MXG_QUEUE_FORMAT") or DEFAULT_QUEUE_FORMAT
    if f not in QUEUE_FORMATS:
        raise ValueError(f"unknown queue format {f!r}")
    return f


def other_queue_format(f):
    return "split" if f == "single" else "single"


def format_msg_file(qid, ctl, data):
    """The bytes of a format B file (src/queue/message_file.hpp): the message, its
    envelope (a whole control file ending in "end: ID"), then the trailer
    "mxguard-end: ID OFFSET(16 hex) LENGTH(8 hex)\n"."""
    ctl = ctl.encode() if isinstance(ctl, str) else ctl
    data = data.encode() if isinstance(data, str) else data
    return data + ctl + b"mxguard-end: %s %016x %08x\n" % (qid.encode(), len(data), len(ctl))


def _write_new(path, content):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)


def write_queue_message(qdir, qid, ctl, data, fmt=None):
    """Puts a committed message into queue directory `qdir` by hand, in format `fmt`
    (default: current_queue_format()): .data then .ctl (A), or one .msg (B). `ctl` is the
    control file text (src/queue/envelope.hpp), with its "end: ID" line."""
    fmt = current_queue_format(fmt)
    msgs = os.path.join(qdir, "messages")
    os.makedirs(msgs, exist_ok=True)
    ctl = ctl.encode() if isinstance(ctl, str) else ctl
    data = data.encode() if isinstance(data, str) else data
    stem = os.path.join(msgs, qid)
    if fmt == "single":
        _write_new(stem + ".msg", format_msg_file(qid, ctl, data))
    else:
        _write_new(stem + ".data", data)
        _write_new(stem + ".ctl", ctl)  # the control file commits format A


def queue_messages(qdir):
    """{id: (control text, data bytes)} of the committed messages of queue directory
    `qdir`, in either format (queue_message). A message removed while this reads is
    left out."""
    d = os.path.join(qdir, "messages")
    if not os.path.isdir(d):
        return {}
    out = {}
    for name in os.listdir(d):
        if name.endswith((".msg", ".ctl")):
            m = queue_message(qdir, name[:-4])
            if m is not None:
                out[name[:-4]] = m
    return out


def queue_message(qdir, qid):
    """(control text, data bytes) of one committed message in either format, or None:
    .ctl + .data, or one .msg whose envelope a .st file replaces when present; a .msg
    without a valid end marker was never committed whole (the scanner moves it to
    corrupt/) and a message removed meanwhile is None."""
    d = os.path.join(qdir, "messages")
    try:
        if os.path.exists(os.path.join(d, qid + ".msg")):
            with open(os.path.join(d, qid + ".msg"), "rb") as f:
                parsed = parse_msg_file(f.read())
            if parsed is None:
                return None
            ctl, data = parsed
            try:
                with open(os.path.join(d, qid + ".st"), errors="replace") as f:
                    ctl = f.read()
            except FileNotFoundError:
                if not os.path.exists(os.path.join(d, qid + ".msg")):
                    return None  # removed meanwhile (.msg first, then .st)
            return ctl, data
        with open(os.path.join(d, qid + ".ctl"), errors="replace") as f:
            ctl = f.read()
        with open(os.path.join(d, qid + ".data"), "rb") as f:
            return ctl, f.read()
    except FileNotFoundError:
        return None


def queue_message_files(qdir, qid):
    """The names of the files of message `qid` in messages/ (either format)."""
    d = os.path.join(qdir, "messages")
    return sorted(qid + s for s in QUEUE_SUFFIXES if os.path.exists(os.path.join(d, qid + s)))


def parse_msg_file(raw):
    """A format B queue file (src/queue/message_file.hpp) -> (envelope text, message bytes),
    or None when its end marker is missing or does not match the file."""
    m = MSG_TRAILER.match(raw[-MSG_TRAILER_SIZE:]) if len(raw) >= MSG_TRAILER_SIZE else None
    if not m:
        return None
    off, length = int(m.group(2), 16), int(m.group(3), 16)
    if off + length + MSG_TRAILER_SIZE != len(raw):
        return None
    ctl = raw[off:off + length].decode(errors="replace")
    if not ctl.endswith(f"end: {m.group(1).decode()}\n"):
        return None
    return ctl, raw[:off]


class Gateway:
    """A running mxguard serve. `listener` and `top` are extra TOML lines."""

    def __init__(self, mode="hold", listener="", top="", relay=None, tls=False, log_format="text",
                 queue_format=None):
        # [queue] format: "split" (A) or "single" (B); default: $MXG_QUEUE_FORMAT, else
        # none, so the server writes its default (tests/CMakeLists.txt runs the queue
        # tests with both). self.queue_format is the format the server writes.
        named = queue_format or os.environ.get("MXG_QUEUE_FORMAT", "")
        queue_lines = f'[queue]\nformat = "{named}"\n' if named else ""
        self.queue_format = current_queue_format(named or None)
        self.tmp = tempfile.mkdtemp(prefix="mxg-gw-")
        self.port = free_port()
        self.state = os.path.join(self.tmp, "var")
        self.queue = os.path.join(self.state, "queue", "test")
        self.log = os.path.join(self.tmp, "mxguard.log")
        self.config = os.path.join(self.tmp, "mxguard.toml")
        self.cert = self.key = None
        if tls:
            self.cert = os.path.join(self.tmp, "cert.pem")
            self.key = os.path.join(self.tmp, "key.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-subj", "/CN=localhost", "-days", "1",
                            "-keyout", self.key, "-out", self.cert],
                           check=True, capture_output=True, timeout=60)
        if relay is None:
            relay = ('local_domains = ["local.test", "drj.test"]\n'
                     'trusted_networks = []\n')
        tls_lines = f'tls_cert = "{self.cert}"\ntls_key = "{self.key}"\n' if tls else ""
        with open(self.config, "w") as f:
            f.write(f'state_dir = "{self.state}"\nhostname = "mx.test"\ndrain_timeout = "10s"\n{top}\n'
                    f'{queue_lines}[log]\nformat = "{log_format}"\nfile = "{self.log}"\nlevel = "info"\n'
                    f'[relay]\n{relay}\n'
                    f'[listener.test]\naddress = "127.0.0.1:{self.port}"\n'
                    f'delivery_mode = "{mode}"\nqueue_dir = "{self.queue}"\n{tls_lines}{listener}\n')
        self.proc = None

    READY = "ready listeners="  # server.cpp logs it when start() is complete

    def start(self):
        """Starts the server and returns once it logged its ready line (signal handlers,
        queues, history, control socket and delivery all set up: a signal sent after this
        is never the default death, issue 16 item 8) and the listener answers."""
        seen = self.log_text().count(self.READY)  # a restart appends to the same log
        self.proc = subprocess.Popen([MXGUARD, "serve", "--config", self.config],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace")
                raise RuntimeError(f"mxguard serve exited {self.proc.returncode}: {out}")
            if self.log_text().count(self.READY) > seen:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("mxguard serve did not log its ready line: " + self.log_text()[-500:])

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
                return -9
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        if os.environ.get("MXG_KEEP_TMP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.cleanup()

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def messages(self):
        """{id: (control text, data bytes)} of committed messages, in either queue format
        (docs/queue.md): .ctl + .data, or one .msg (data, envelope, end marker) whose
        envelope a .st file replaces when present."""
        return queue_messages(self.queue)

    def message(self, qid):
        """(control text, data bytes) of one committed message (either format), or None."""
        return queue_message(self.queue, qid)

    def envelope(self, qid):
        """The current envelope (control file text) of message `qid`; "" when it is not
        (or no longer) in the queue."""
        m = queue_message(self.queue, qid)
        return m[0] if m else ""

    def message_files(self, qid):
        return queue_message_files(self.queue, qid)

    def cli(self, *args, check=True):
        r = subprocess.run([MXGUARD, *args], capture_output=True, timeout=60, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"mxguard {' '.join(args)} exited {r.returncode}: {r.stdout}{r.stderr}")
        return r


class Client:
    """Raw SMTP over a socket: send exact bytes, read whole replies."""

    def __init__(self, port, timeout=TIMEOUT, source=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                          source_address=(source, 0) if source else None)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """One (possibly multi-line) reply: (code, text of all lines)."""
        lines = []
        while True:
            while b"\n" not in self.buf:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got " + repr(lines))
                self.buf += chunk
            line, self.buf = self.buf.split(b"\n", 1)
            line = line.rstrip(b"\r").decode(errors="replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return int(line[:3]), "\n".join(lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        """True if the server closed the connection (after any buffered replies)."""
        try:
            self.s.settimeout(5)
            return self.s.recv(1) == b"" and not self.buf
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


class Dnsmasq:
    """A real DNS server for a test: /usr/sbin/dnsmasq on 127.0.0.1 and a free port with
    no upstream, no hosts file (as tests/support/dnsmasq_lib.sh). `args` are its record
    options (--ptr-record=..., --host-record=..., --txt-record=...)."""

    def __init__(self, *args):
        self.proc = None
        for _ in range(5):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
            self.proc = subprocess.Popen(
                ["/usr/sbin/dnsmasq", "--keep-in-foreground", f"--port={self.port}",
                 "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                 "--no-poll", "--conf-file=/dev/null", "--pid-file=", "--log-facility=/dev/null",
                 *args])
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    return
                except OSError:
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def wait_log(gw, text, after=0, timeout=TIMEOUT):
    """Waits until the log holds more than `after` occurrences of `text`; returns the
    number of occurrences (== after on timeout)."""
    deadline = time.time() + timeout
    while True:
        n = gw.log_text().count(text)
        if n > after or time.time() >= deadline:
            return n
        time.sleep(0.05)


def wait_for(fn, what, timeout=TIMEOUT):
    """Polls fn() until it returns something true; returns it (or the last value)."""
    deadline = time.time() + timeout
    v = fn()
    while not v and time.time() < deadline:
        time.sleep(0.1)
        v = fn()
    return v


class Checker:
    """Counts checks; prints a closing 'N passed, N failed' line."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, cond, what):
        if cond:
            self.passed += 1
            print("ok  ", what)
        else:
            self.failed += 1
            print("FAIL", what)
        sys.stdout.flush()
        return cond

    def eq(self, got, want, what):
        return self.ok(got == want, f"{what}: got {got!r}, want {want!r}")

    def done(self):
        print(f"{self.passed} passed, {self.failed} failed")
        sys.exit(1 if self.failed else 0)


def batv_tag(secret, address, day, validity=7):
    """BATV prvs= address as docs/backscatter.md specifies it, computed here
    independently of the C++ code: K = signing day mod 10, DDD = expiry day mod 1000,
    SSSSSS = first 3 bytes of HMAC-SHA256(HMAC-SHA256(secret, "mxguard-batv:" + day),
    KDDD + lower(address))."""
    day_key = hmac.new(secret.encode(), f"mxguard-batv:{day}".encode(), hashlib.sha256).digest()
    kddd = f"{day % 10}{(day + validity) % 1000:03d}"
    mac = hmac.new(day_key, (kddd + address.lower()).encode(), hashlib.sha256).digest()
    return f"prvs={kddd}{mac[:3].hex()}={address}"
