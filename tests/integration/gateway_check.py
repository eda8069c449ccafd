#!/usr/bin/env python3
"""gateway_check.py: `mxguard serve --check` tries everything the start tries short of
binding (issue 16 item 6): a missing, non-PEM or mismatched TLS certificate/key, a
state directory that cannot be created, a 0.0.0.0 listener beside 127.0.0.1 on the
same port. Each is refused by --check with exit 78 and the config line (FILE:LINE);
the start refuses the same config with the same message. Certificates come from the
openssl command line tool (not from mxguard)."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("MXG_SOURCE_DIR", "."), "tests", "support"))
from mxg_gateway_harness import Gateway, Checker, MXGUARD, free_port  # noqa: E402

c = Checker()


def serve(gw, *extra):
    """Runs `serve` (or `serve --check`) that must refuse the config and exit at once;
    a server that starts anyway is stopped after 20 s and reported as returncode None."""
    try:
        return subprocess.run([MXGUARD, "serve", "--config", gw.config, *extra],
                              capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired as e:  # run() has killed it
        return subprocess.CompletedProcess(e.cmd, None, e.stdout or "", "started anyway")


def line_of(path, prefix):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if line.startswith(prefix):
                return n
    raise AssertionError(f"{prefix!r} not in {path}")


def set_config(gw, old, new):
    with open(gw.config) as f:
        text = f.read()
    assert old in text, old
    with open(gw.config, "w") as f:
        f.write(text.replace(old, new))


def refused(gw, key_prefix, message_re, what):
    """--check and the start both exit 78 naming the config line that starts with key_prefix."""
    line = line_of(gw.config, key_prefix)
    pattern = re.escape(f"{gw.config}:{line}: ") + message_re
    for args in (("--check",), ()):
        r = serve(gw, *args)
        name = "--check" if args else "start"
        c.eq(r.returncode, 78, f"{what}: {name} exits 78 ({r.stdout}{r.stderr})")
        c.ok(re.search(pattern, r.stderr) is not None,
             f"{what}: {name} says {pattern!r}: {r.stderr!r}")


# --- TLS: the good pair passes --check and starts
gw = Gateway(mode="hold", tls=True)
try:
    r = serve(gw, "--check")
    c.eq(r.returncode, 0, f"matching certificate and key: --check OK ({r.stderr})")
    gw.start()
    c.eq(gw.stop(), 0, "matching certificate and key: starts and stops")
    # missing certificate
    set_config(gw, f'tls_cert = "{gw.cert}"', f'tls_cert = "{gw.cert}.gone"')
    refused(gw, "tls_cert", r"tls_cert \S+\.gone: No such file", "missing tls_cert")
    set_config(gw, f'tls_cert = "{gw.cert}.gone"', f'tls_cert = "{gw.cert}"')
    # not PEM
    junk = os.path.join(gw.tmp, "junk.pem")
    with open(junk, "w") as f:
        f.write("not a certificate\n")
    set_config(gw, f'tls_cert = "{gw.cert}"', f'tls_cert = "{junk}"')
    refused(gw, "tls_cert", r"tls_cert \S+junk\.pem: not a PEM certificate", "non-PEM tls_cert")
    set_config(gw, f'tls_cert = "{junk}"', f'tls_cert = "{gw.cert}"')
    set_config(gw, f'tls_key = "{gw.key}"', f'tls_key = "{junk}"')
    refused(gw, "tls_key", r"tls_key \S+junk\.pem: not an unencrypted PEM private key",
            "non-PEM tls_key")
    # the key of another certificate
    other_key = os.path.join(gw.tmp, "other.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj",
                    "/CN=other", "-days", "1", "-keyout", other_key,
                    "-out", os.path.join(gw.tmp, "other.crt")],
                   check=True, capture_output=True, timeout=60)
    set_config(gw, f'tls_key = "{junk}"', f'tls_key = "{other_key}"')
    refused(gw, "tls_key", r"tls_key \S+other\.key does not belong to tls_cert",
            "mismatched tls_key")
finally:
    gw.cleanup()

# --- a state directory that cannot be created (a file where a directory must go)
gw = Gateway(mode="hold")
try:
    blocker = os.path.join(gw.tmp, "blocker")
    with open(blocker, "w") as f:
        f.write("x")
    set_config(gw, f'state_dir = "{gw.state}"', f'state_dir = "{blocker}/var"')
    refused(gw, "state_dir", re.escape(f"state_dir: {blocker}/var cannot be created"),
            "uncreatable state_dir")
finally:
    gw.cleanup()

# --- 0.0.0.0 beside 127.0.0.1 on one port: cannot both be bound
gw = Gateway(mode="hold")
try:
    with open(gw.config, "a") as f:
        f.write(f'[listener.wild]\naddress = "0.0.0.0:{gw.port}"\ndelivery_mode = "hold"\n')
    line = line_of(gw.config, f'address = "0.0.0.0:{gw.port}"')
    other = line_of(gw.config, f'address = "127.0.0.1:{gw.port}"')
    for args in (("--check",), ()):
        r = serve(gw, *args)
        name = "--check" if args else "start"
        c.eq(r.returncode, 78, f"wildcard clash: {name} exits 78 ({r.stderr})")
        msgs = r.stderr
        c.ok(f"{gw.config}:{max(line, other)}:" in msgs and f"({gw.config}:{min(line, other)})" in msgs
             and "share port" in msgs, f"wildcard clash: {name} names both lines: {msgs!r}")
    # on another port they coexist
    set_config(gw, f'address = "0.0.0.0:{gw.port}"', f'address = "0.0.0.0:{free_port()}"')
    r = serve(gw, "--check")
    c.eq(r.returncode, 0, f"wildcard on another port: --check OK ({r.stderr})")
finally:
    gw.cleanup()
c.done()
