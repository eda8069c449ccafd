#!/usr/bin/python3
"""dkim_dkimpy.py: `mxguard dkim verify` side by side with dkimpy (python3-dkim, a peer
nobody here wrote) on the conformance messages, signature by signature.

Corpora (../shared/conformance, untouched): dkim-mailauth (6 messages, 8 signatures,
keys inline, clock pinned at 1667843664 for both verifiers) and dkim-maildkim (62 files,
FAKE_DNS.dat, the real clock for both). mxguard reads the keys from an RFC 1035 zone
file written here (--zone); dkimpy from the same data through its dnsfunc.

Judged on pass / not pass per signature (dkimpy's verify(idx) is a boolean). Every
difference must be one the RFCs decide, listed with its section:
  rsa-sha1           dkimpy 1.1 still accepts it; RFC 8301 3.1 forbids it (we fail)
  no v= / v=0.5      dkimpy does not require v=; RFC 6376 3.5 does (we permerror/neutral)
Anything else fails the test. Exit 77 when python3-dkim is not installed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    import dkim  # python3-dkim
except ImportError:
    print("SKIP: python3-dkim (dkimpy) not installed")
    sys.exit(77)

MXGUARD = os.environ.get("MXGUARD")
SHARED = os.environ.get("MXG_SHARED_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
if not MXGUARD:
    print("MXGUARD must point to the mxguard binary")
    sys.exit(2)

MAILAUTH_NOW = 1667843664


def zone_line(name, text):
    # TXT character-strings of at most 255 bytes (RFC 1035 3.3.14), quoted and escaped.
    parts = [text[i:i + 200] for i in range(0, len(text), 200)] or [""]
    quoted = " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)
    return "%s. 300 IN TXT %s\n" % (name, quoted)


def mxguard_verify(zone_path, msg_path, now=None):
    cmd = [MXGUARD, "dkim", "verify", "--zone", zone_path, "--json", msg_path]
    if now is not None:
        cmd[3:3] = ["--now", str(now)]
    out = subprocess.run(cmd, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("mxguard exit %d: %s" % (out.returncode, out.stderr.decode()))
    return json.loads(out.stdout)["dkim"]


def dkimpy_verify(msg, keys, count, now=None):
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        v = keys.get(n.lower().rstrip("."))
        return v.encode() if v is not None else None

    real_time = time.time
    if now is not None:
        time.time = lambda: float(now)
    try:
        results = []
        for idx in range(count):
            try:
                d = dkim.DKIM(msg)
                results.append(bool(d.verify(idx=idx, dnsfunc=dnsfunc)))
            except Exception:  # dkimpy raises on some malformed input: not pass
                results.append(False)
        return results
    finally:
        time.time = real_time


def explained(sig, ours):
    a = sig.get("algorithm", "")
    reason = ours["reason"]
    if a == "rsa-sha1" and "RFC 8301 3.1" in reason:
        return "RFC 8301 3.1 (rsa-sha1)"
    if "no v= tag" in reason or "version v=0.5" in reason:
        return "RFC 6376 3.5 (v=1 required)"
    return None


def main():
    tmp = tempfile.mkdtemp(prefix="mxg-dkimpy-")
    compared = agree = both_pass = 0
    diffs = {}
    unexplained = []

    # dkim-mailauth
    for i in range(1, 7):
        text = open(os.path.join(SHARED, "conformance/dkim-mailauth/%03d.txt" % i), "rb").read()
        head, msg = text.split(b"\n\n", 1)
        keys = {}
        with open(os.path.join(tmp, "mailauth.zone"), "w") as z:
            for line in head.decode().splitlines():
                name, value = line.split(" ", 1)
                keys[name.lower()] = value
                z.write(zone_line(name, value))
        mpath = os.path.join(tmp, "mailauth-%03d.eml" % i)
        open(mpath, "wb").write(msg)
        ours = mxguard_verify(os.path.join(tmp, "mailauth.zone"), mpath, MAILAUTH_NOW)
        theirs = dkimpy_verify(msg, keys, len(ours), MAILAUTH_NOW)
        for o, t in zip(ours, theirs):
            compared += 1
            if (o["result"] == "pass") == t:
                agree += 1
                both_pass += t
            else:
                unexplained.append("mailauth/%03d [%d]: mxguard %s (%s), dkimpy %s" %
                                   (i, o["index"], o["result"], o["reason"], t))

    # dkim-maildkim
    base = os.path.join(SHARED, "conformance/dkim-maildkim")
    keys = {}
    with open(os.path.join(tmp, "maildkim.zone"), "w") as z:
        for line in open(os.path.join(base, "FAKE_DNS.dat")):
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip()[0] in "#;":
                continue
            parts = line.split(None, 1)
            name, value = parts[0], parts[1] if len(parts) > 1 else ""
            if value == "NXDOMAIN" or value.startswith("~~"):
                continue  # absent: NXDOMAIN for both (timeouts are not comparable here)
            keys[name.lower()] = value
            z.write(zone_line(name, value))
    for f in sorted(os.listdir(os.path.join(base, "corpus"))):
        path = os.path.join(base, "corpus", f)
        msg = open(path, "rb").read()
        ours = mxguard_verify(os.path.join(tmp, "maildkim.zone"), path)
        theirs = dkimpy_verify(msg, keys, len(ours))
        for o, t in zip(ours, theirs):
            compared += 1
            if (o["result"] == "pass") == t:
                agree += 1
                both_pass += t
                continue
            why = explained(o, o) if t and o["result"] != "pass" else None
            if why:
                diffs[why] = diffs.get(why, 0) + 1
            else:
                unexplained.append("maildkim/%s [%d]: mxguard %s (%s), dkimpy %s" %
                                   (f, o["index"], o["result"], o["reason"], t))

    print("DKIM side by side with dkimpy: %d signatures, %d agree on pass/not-pass "
          "(%d pass in both)" % (compared, agree, both_pass))
    for why, n in sorted(diffs.items()):
        print("  differ, RFC decides: %3d  %s" % (n, why))
    for u in unexplained:
        print("  UNEXPLAINED " + u)
    subprocess.run(["rm", "-rf", tmp])
    if unexplained or compared < 70 or both_pass < 8:
        print("FAILED")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
