#!/usr/bin/python3
"""dkim_peers.py: `mxguard dkim verify --json` side by side with two DKIM verifiers nobody
here wrote, on the same messages and the same keys, signature by signature:
  dkimpy   (python3-dkim): dkim.DKIM(msg).verify(idx, dnsfunc=...) per signature (a boolean)
  OpenDKIM (opendkim -t FILE with TestDNSData, opendkim(8)/opendkim.conf(5)): its
           Authentication-Results (RFC 8601) gives one dkim= result per signature.

Messages (RFC 6376; RFC 8301; RFC 8463):
  - ../shared/conformance/dkim-mailauth (6 messages, 8 signatures, keys inline, clock
    pinned at 1667843664 for all three: dkimpy through time.time, OpenDKIM through a
    tiny LD_PRELOAD time() shim built here with cc, mxguard through --now);
  - ../shared/conformance/dkim-maildkim (62 files, FAKE_DNS.dat; real clock for all);
  - messages signed here, with keys generated here (openssl: rsa-2048 and ed25519), by
    dkimpy (dkim.sign) and by OpenDKIM (opendkim -t in signing mode, which prints the
    DKIM-Signature field it would insert): rsa-sha256 and ed25519-sha256, relaxed and
    simple, l=, then damaged copies (body altered, signed header altered) and signatures
    whose key is missing (NXDOMAIN) or revoked (p= empty, RFC 6376 3.6.1).

Judged: with dkimpy, pass / not pass; with OpenDKIM, the result keyword itself. Every
disagreement must be one of DIFFERENCES below (each documented with the RFC section that
decides it in docs/auth.md, "Differences from peers"), and every listed difference must
be seen: the test fails on an unlisted difference and on a listed one that went away.
Exit 77 when a peer (python3-dkim, opendkim, openssl, cc) is missing.
Must never: touch the conformance data (read only), use the network (keys come from the
zone file / dnsfunc / TestDNSData written here).
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import dkim  # python3-dkim
    import dkim.util
except ImportError:
    print("SKIP: python3-dkim (dkimpy) not installed")
    sys.exit(77)

OPENDKIM = shutil.which("opendkim") or ("/usr/sbin/opendkim" if os.path.exists("/usr/sbin/opendkim") else None)
for tool, path in (("opendkim", OPENDKIM), ("openssl", shutil.which("openssl")), ("cc", shutil.which("cc"))):
    if not path:
        print("SKIP: %s not installed" % tool)
        sys.exit(77)

MXGUARD = os.environ.get("MXGUARD")
SHARED = os.environ.get("MXG_SHARED_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared")
if not MXGUARD:
    print("MXGUARD must point to the mxguard binary")
    sys.exit(2)

MAILAUTH_NOW = 1667843664

# The differences seen and accepted, (peer, case) -> the RFC rule that decides it (the
# key of RULES). A case is "corpus/file[index]" (index: 0 = topmost DKIM-Signature).
RULES = {
    "rsa-sha1": "RFC 8301 3.1: rsa-sha1 MUST NOT be used; we fail it and say whether the "
                "signature itself verifies; OpenDKIM 2.11 says policy (pass for one), dkimpy passes",
    "v-missing": "RFC 6376 3.5 (v= is REQUIRED) and 6.1.1: the signature is invalid, permerror "
                 "for it (RFC 8601 2.7.1); OpenDKIM gives no verdict (it accepts the message as "
                 "unsigned at the end of the header: no Authentication-Results)",
    "v-draft": "RFC 6376 3.5 (v=1 only): v=0.5 / v=5 are signatures we cannot process, neutral "
               "(RFC 8601 2.7.1); OpenDKIM still verifies pre-standard v=0.5 signatures "
               "(pass, fail, or a key error)",
    "unsupported": "RFC 6376 3.5 (c= / q= values we do not implement) and RFC 8601 2.7.1: "
                   "signed but cannot be processed is neutral; OpenDKIM says permerror, or gives "
                   "no verdict for the whole message",
    "sig-syntax": "RFC 6376 3.2 / 6.1.1: a tag-list syntax error makes the signature invalid, "
                  "permerror; OpenDKIM gives no verdict for the whole message",
    "key-absent": "RFC 6376 6.1.2: no key record (NXDOMAIN) is PERMFAIL, permerror; OpenDKIM's "
                  "TestDNSData cannot answer NXDOMAIN (an absent name is a failed query: "
                  "temperror, or a 451 4.7.5 tempfail)",
    "key-unusable": "RFC 6376 3.6.1 / 6.1.2: a revoked key (p= empty), a key whose h=, s= or "
                    "t=s refuses the signature, or an unparsable key record is PERMFAIL: we say "
                    "permerror (RFC 8601 2.7.1: could not be verified); OpenDKIM says fail, or "
                    "temperror for a key record it cannot parse",
    "rsapublickey": "RFC 6376 3.6.1 p= / 3.3.1: the RFC's text names the RSAPublicKey structure "
                    "(most publishers use SubjectPublicKeyInfo; we and dkimpy take both); "
                    "OpenDKIM cannot load the bare form (permerror \"unable to apply public key\")",
    "t-future": "RFC 6376 3.5 t=: a timestamp after the verifier's clock is not an error the RFC "
                "requires a verifier to act on (mailauth 004 is signed 5 h after the pinned "
                "clock); we and dkimpy pass, OpenDKIM refuses it (permerror \"signature "
                "timestamp in the future\")",
}
DIFFERENCES = {
    ('dkimpy', 'maildkim/multiple_2.txt[1]'): 'rsa-sha1',
    ('opendkim', 'generated/dkimpy-missing[0]'): 'key-absent',
    ('opendkim', 'generated/dkimpy-revoked[0]'): 'key-unusable',
    ('opendkim', 'mailauth/002.txt[0]'): 'rsapublickey',
    ('opendkim', 'mailauth/004.txt[0]'): 't-future',
    ('opendkim', 'maildkim/bad_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/bad_1878954.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/bad_ietf01_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/bad_ietf01_2.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/bad_ietf01_3.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/badkey4_ed25519.txt[0]'): 'key-absent',
    ('opendkim', 'maildkim/badkey5_ed25519.txt[0]'): 'key-unusable',
    ('opendkim', 'maildkim/badkey_1.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_10.txt[0]'): 'key-unusable',
    ('opendkim', 'maildkim/badkey_11.txt[0]'): 'key-unusable',
    ('opendkim', 'maildkim/badkey_12.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/badkey_13.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/badkey_14.txt[0]'): 'key-absent',
    ('opendkim', 'maildkim/badkey_15.txt[0]'): 'key-absent',
    ('opendkim', 'maildkim/badkey_2.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_3.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_4.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_5.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_6.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_7.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/badkey_8.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/badkey_9.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_1878523.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_83176.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_ietf00_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf00_2.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf00_3.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf00_4.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf00_5.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf01_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_ietf01_2.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/good_qp_1.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_qp_2.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_qp_3.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_rfc4871_3.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/good_rfc4871_4.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/goodkey_1.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/goodkey_2.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/goodkey_3.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/goodkey_4.txt[0]'): 'rsa-sha1',
    ('opendkim', 'maildkim/ignore_1.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/ignore_2.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/ignore_3.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/ignore_4.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/ignore_5.txt[0]'): 'unsupported',
    ('opendkim', 'maildkim/ignore_6.txt[0]'): 'unsupported',
    ('opendkim', 'maildkim/mine_ietf01_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/mine_ietf01_2.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/mine_ietf01_3.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/mine_ietf01_4.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/mine_ietf05_1.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/multiple_1.txt[0]'): 'v-missing',
    ('opendkim', 'maildkim/multiple_1.txt[1]'): 'v-missing',
    ('opendkim', 'maildkim/multiple_1.txt[2]'): 'v-missing',
    ('opendkim', 'maildkim/multiple_1.txt[3]'): 'v-missing',
    ('opendkim', 'maildkim/multiple_2.txt[0]'): 'unsupported',
    ('opendkim', 'maildkim/multiple_2.txt[1]'): 'rsa-sha1',
    ('opendkim', 'maildkim/multiple_2.txt[2]'): 'rsa-sha1',
    ('opendkim', 'maildkim/multiple_2.txt[3]'): 'sig-syntax',
    ('opendkim', 'maildkim/no_body_1.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/no_body_2.txt[0]'): 'v-draft',
    ('opendkim', 'maildkim/no_body_3.txt[0]'): 'v-draft',
}


def zone_line(name, text):
    # TXT character-strings of at most 255 bytes (RFC 1035 3.3.14), quoted and escaped.
    parts = [text[i:i + 200] for i in range(0, len(text), 200)] or [""]
    quoted = " ".join('"' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for p in parts)
    return "%s. 300 IN TXT %s\n" % (name, quoted)


class KeySet:
    """One set of TXT key records, written for the three verifiers."""

    def __init__(self, tmp, label, keys):
        self.keys = {k.lower().rstrip("."): v for k, v in keys.items()}
        self.zone = os.path.join(tmp, label + ".zone")
        self.testdns = os.path.join(tmp, label + ".testdns")
        self.conf = os.path.join(tmp, label + ".opendkim.conf")
        with open(self.zone, "w") as z, open(self.testdns, "w") as t:
            for name, value in self.keys.items():
                z.write(zone_line(name, value))
                t.write("%s %s\n" % (name, value))
        with open(self.conf, "w") as c:
            # Test mode only verifies (opendkim(8) -t); 10 signatures = mxguard's cap;
            # MinimumKeyBits 1024 is OpenDKIM's default and RFC 8301 3.2's floor.
            c.write("Mode v\nSyslog no\nTestDNSData file:%s\nAlwaysAddARHeader yes\n"
                    "MaximumSignaturesToVerify 10\nMinimumKeyBits 1024\n" % self.testdns)


def mxguard_verify(ks, path, now=None):
    cmd = [MXGUARD, "dkim", "verify", "--zone", ks.zone, "--json", path]
    if now is not None:
        cmd[3:3] = ["--now", str(now)]
    out = subprocess.run(cmd, capture_output=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError("mxguard exit %d: %s" % (out.returncode, out.stderr.decode()))
    return json.loads(out.stdout)["dkim"]


def dkimpy_verify(msg, ks, count, now=None):
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        v = ks.keys.get(n.lower().rstrip("."))
        return v.encode() if v is not None else None

    real_time = time.time
    if now is not None:
        time.time = lambda: float(now)
    try:
        out = []
        for idx in range(count):
            try:
                out.append(bool(dkim.DKIM(msg).verify(idx=idx, dnsfunc=dnsfunc)))
            except Exception:  # dkimpy raises on some malformed input: not pass
                out.append(False)
        return out
    finally:
        time.time = real_time


def signature_b_prefixes(msg):
    """header.b of each DKIM-Signature, top first (RFC 6008 2: the first 8 of b=)."""
    out = []
    try:
        headers, _ = dkim.rfc822_parse(msg)
    except Exception:
        return out
    for name, value in headers:
        if name.lower() != b"dkim-signature":
            continue
        m = re.search(rb"(?:^|;)\s*b\s*=([^;]*)", value)
        out.append(re.sub(rb"\s", b"", m.group(1)).decode("ascii", "replace")[:8] if m else None)
    return out


AR_RE = re.compile(r"### INSHEADER: idx=\d+ hname='Authentication-Results' hvalue='(.*?)'\n(?=###|opendkim:|$)", re.S)


def opendkim_verify(ks, path, msg, count, shim_env=None):
    """One result keyword per signature (None when OpenDKIM reported nothing for it)."""
    out = subprocess.run([OPENDKIM, "-x", ks.conf, "-vv", "-t", path], capture_output=True,
                         timeout=60, env=shim_env)
    text = out.stdout.decode("utf-8", "replace")
    entries = []
    for ar in AR_RE.findall(text):
        for resinfo in ar.split(";")[1:]:
            m = re.match(r"\s*dkim=(\w+)", resinfo)
            if not m:
                continue
            b = re.search(r"header\.b=\"?([^\s;\"]+)", resinfo)
            entries.append((m.group(1), b.group(1) if b else None))
    prefixes = signature_b_prefixes(msg)
    results = [None] * count
    rest = []
    for res, b in entries:
        if res == "none":
            continue
        idx = next((i for i, p in enumerate(prefixes)
                    if p is not None and p == b and i < count and results[i] is None), None)
        if idx is None:
            rest.append(res)
        else:
            results[idx] = res
    # Entries without a header.b (unparsable signatures): in order, onto the ones left.
    for i in range(count):
        if results[i] is None and rest:
            results[i] = rest.pop(0)
    # No Authentication-Results at all but a 451 4.7.5 reply ("DKIM key retrieval
    # failed"): OpenDKIM tempfailed the message instead of judging it.
    if "### SETREPLY: rcode='451'" in text:
        results = [r if r is not None else "temperror" for r in results]
    # Nothing at all: OpenDKIM accepted the message at the end of the header without a
    # verdict (it found no signature it would process).
    results = [r if r is not None else "no-verdict" for r in results]
    return results, text


def build_time_shim(tmp):
    """LD_PRELOAD library pinning time() / gettimeofday() / clock_gettime(REALTIME) at
    $MXG_FAKE_NOW, so OpenDKIM judges x= (RFC 6376 3.5) at the corpus's pinned time."""
    src = os.path.join(tmp, "timeshim.c")
    so = os.path.join(tmp, "timeshim.so")
    open(src, "w").write(r'''
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>
#include <sys/time.h>
#include <dlfcn.h>
static time_t fake(void) { const char* s = getenv("MXG_FAKE_NOW"); return s ? (time_t)atoll(s) : 0; }
time_t time(time_t* t) { time_t v = fake(); if (t) *t = v; return v; }
int gettimeofday(struct timeval* tv, void* tz) { (void)tz; if (tv) { tv->tv_sec = fake(); tv->tv_usec = 0; } return 0; }
int clock_gettime(clockid_t id, struct timespec* ts) {
  static int (*real)(clockid_t, struct timespec*);
  if (id == CLOCK_REALTIME) { ts->tv_sec = fake(); ts->tv_nsec = 0; return 0; }
  if (!real) real = (int (*)(clockid_t, struct timespec*))dlsym(RTLD_NEXT, "clock_gettime");
  return real(id, ts);
}
''')
    subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"], check=True)
    return so


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, **kw).stdout


class Generated:
    """Keys and messages made here: each signer signs the same base messages."""

    def __init__(self, tmp):
        self.tmp = tmp
        d = os.path.join(tmp, "keys")
        os.makedirs(d)
        self.rsa_pem = os.path.join(d, "rsa.pem")
        self.ed_pem = os.path.join(d, "ed.pem")
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", self.rsa_pem])
        run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", self.ed_pem])
        rsa_pub = run(["openssl", "pkey", "-in", self.rsa_pem, "-pubout", "-outform", "DER"])
        ed_pub = run(["openssl", "pkey", "-in", self.ed_pem, "-pubout", "-outform", "DER"])[-32:]
        ed_priv = run(["openssl", "pkey", "-in", self.ed_pem, "-outform", "DER"])[-32:]
        self.rsa_key = open(self.rsa_pem, "rb").read()
        self.ed_seed = base64.b64encode(ed_priv)  # dkimpy's ed25519 private key form
        rsa_p = base64.b64encode(rsa_pub).decode()
        self.keys = {
            "rsa._domainkey.example.com": "v=DKIM1; k=rsa; p=" + rsa_p,
            # RFC 8463 3: p= is the raw 32-byte Ed25519 public key, base64.
            "ed._domainkey.example.com": "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode(),
            # RFC 6376 3.6.1: an empty p= means the key was revoked.
            "revoked._domainkey.example.com": "v=DKIM1; k=rsa; p=",
            # "missing._domainkey.example.com" is deliberately absent (NXDOMAIN).
        }

    BASE = (b"From: Joe SixPack <joe@example.com>\r\n"
            b"To: Suzie Q <suzie@example.net>\r\n"
            b"Subject: Is dinner ready?\r\n"
            b"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
            b"Message-ID: <20261206030000.1@example.com>\r\n"
            b"\r\n"
            b"Hi.  \r\n"
            b"\r\n"
            b"We lost the game.\t Are you hungry yet?\r\n"
            b"\r\n"
            b"Joe.\r\n"
            b"\r\n\r\n")

    def dkimpy_sign(self, selector, canon, alg, length=False):
        key = self.ed_seed if alg == "ed25519-sha256" else self.rsa_key
        sig = dkim.sign(self.BASE, selector.encode(), b"example.com", key,
                        canonicalize=tuple(c.encode() for c in canon.split("/")),
                        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                        length=length, signature_algorithm=alg.encode())
        return sig + self.BASE

    def opendkim_sign(self, selector, canon, alg, base=None):
        base = base if base is not None else self.BASE
        keyfile = self.ed_pem if alg == "ed25519-sha256" else self.rsa_pem
        conf = os.path.join(self.tmp, "sign-%s-%s.conf" % (selector, canon.replace("/", "-")))
        with open(conf, "w") as c:
            c.write("Mode s\nSyslog no\nDomain example.com\nSelector %s\nKeyFile %s\n"
                    "RequireSafeKeys no\nCanonicalization %s\nSignatureAlgorithm %s\n"
                    "SignHeaders From,To,Subject,Date,Message-ID\n" % (selector, keyfile, canon, alg))
        plain = os.path.join(self.tmp, "plain.eml")
        open(plain, "wb").write(base)
        out = run([OPENDKIM, "-x", conf, "-t", plain]).decode()
        # opendkim(8) test mode prints "opendkim: FILE:" then the field it would insert.
        field = out.split("opendkim: %s:\n" % plain, 1)[1].rstrip("\r\n")
        assert field.startswith("DKIM-Signature:"), out
        # The field comes with the message's CRLF line ends on its folded lines, or not.
        field = field.replace("\r\n", "\n").replace("\n", "\r\n")
        return field.encode() + b"\r\n" + base

    def messages(self):
        """(name, bytes) for every generated case."""
        out = []
        for signer in ("dkimpy", "opendkim"):
            for sel, alg in (("rsa", "rsa-sha256"), ("ed", "ed25519-sha256")):
                for canon in ("relaxed/relaxed", "simple/simple", "relaxed/simple"):
                    if signer == "dkimpy":
                        m = self.dkimpy_sign(sel, canon, alg)
                    else:
                        m = self.opendkim_sign(sel, canon, alg)
                    tag = "%s-%s-%s" % (signer, sel, canon.replace("/", "-"))
                    out.append((tag, m))
                    # Damaged copies: RFC 6376 6.1.3 says both fail.
                    out.append((tag + "-badbody", m.replace(b"We lost", b"We won")))
                    out.append((tag + "-badheader", m.replace(b"Subject: Is dinner", b"Subject: Is lunch")))
        # l= (RFC 6376 3.5, 8.2): text appended after the signed length still passes.
        m = self.dkimpy_sign("rsa", "relaxed/simple", "rsa-sha256", length=True)
        out.append(("dkimpy-rsa-l", m))
        out.append(("dkimpy-rsa-l-appended", m + b"Appended by a list.\r\n"))
        out.append(("dkimpy-rsa-l-inside", m.replace(b"hungry", b"HUNGRY")))
        # A key that is not published, and a revoked one (RFC 6376 3.6.1, 6.1.2).
        out.append(("dkimpy-missing", self.dkimpy_sign("missing", "relaxed/relaxed", "rsa-sha256")))
        out.append(("dkimpy-revoked", self.dkimpy_sign("revoked", "relaxed/relaxed", "rsa-sha256")))
        # Two signatures on one message: OpenDKIM's ed25519 over dkimpy's RSA (RFC 8463 A).
        m = self.opendkim_sign("ed", "relaxed/relaxed", "ed25519-sha256",
                               self.dkimpy_sign("rsa", "relaxed/relaxed", "rsa-sha256"))
        out.append(("two-signatures", m))
        out.append(("two-signatures-badbody", m.replace(b"We lost", b"We won")))
        return out


def main():
    tmp = tempfile.mkdtemp(prefix="mxg-dkim-peers-")
    shim = build_time_shim(tmp)
    pinned_env = dict(os.environ, LD_PRELOAD=shim, MXG_FAKE_NOW=str(MAILAUTH_NOW))
    cases = []  # (case label, KeySet, path, bytes, now, opendkim env)

    # dkim-mailauth: one key set per file (keys inline).
    for i in range(1, 7):
        text = open(os.path.join(SHARED, "conformance/dkim-mailauth/%03d.txt" % i), "rb").read()
        head, msg = text.split(b"\n\n", 1)
        keys = dict(line.split(" ", 1) for line in head.decode().splitlines())
        ks = KeySet(tmp, "mailauth-%03d" % i, keys)
        path = os.path.join(tmp, "mailauth-%03d.eml" % i)
        open(path, "wb").write(msg)
        cases.append(("mailauth/%03d.txt" % i, ks, path, msg, MAILAUTH_NOW, pinned_env))

    # dkim-maildkim: FAKE_DNS.dat; NXDOMAIN and the simulated timeouts are left out of
    # the zone (absent: NXDOMAIN for all three; timeouts cannot be given to OpenDKIM).
    base = os.path.join(SHARED, "conformance/dkim-maildkim")
    keys = {}
    for line in open(os.path.join(base, "FAKE_DNS.dat")):
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip()[0] in "#;":
            continue
        parts = line.split(None, 1)
        name, value = parts[0], parts[1] if len(parts) > 1 else ""
        if value == "NXDOMAIN" or value.startswith("~~"):
            continue
        keys[name] = value
    ks = KeySet(tmp, "maildkim", keys)
    for f in sorted(os.listdir(os.path.join(base, "corpus"))):
        path = os.path.join(base, "corpus", f)
        cases.append(("maildkim/" + f, ks, path, open(path, "rb").read(), None, None))

    # Generated here.
    gen = Generated(tmp)
    ks = KeySet(tmp, "generated", gen.keys)
    for name, m in gen.messages():
        path = os.path.join(tmp, "gen-%s.eml" % name)
        open(path, "wb").write(m)
        cases.append(("generated/" + name, ks, path, m, None, None))

    compared = {"dkimpy": 0, "opendkim": 0}
    agree = {"dkimpy": 0, "opendkim": 0}
    seen = {}
    tally = {}
    for label, ks, path, msg, now, env in cases:
        ours = mxguard_verify(ks, path, now)
        py = dkimpy_verify(msg, ks, len(ours), now)
        od, raw = opendkim_verify(ks, path, msg, len(ours), env)
        for o, p, d in zip(ours, py, od):
            case = "%s[%d]" % (label, o["index"])
            tally[(o["result"], "pass" if p else "not-pass", d)] = tally.get((o["result"], "pass" if p else "not-pass", d), 0) + 1
            compared["dkimpy"] += 1
            if (o["result"] == "pass") == p:
                agree["dkimpy"] += 1
            else:
                seen[("dkimpy", case)] = "mxguard %s (%s), dkimpy %s" % (o["result"], o["reason"], p)
            compared["opendkim"] += 1
            if o["result"] == d:
                agree["opendkim"] += 1
            else:
                seen[("opendkim", case)] = "mxguard %s (%s), opendkim %s" % (o["result"], o["reason"], d)

    for peer in ("dkimpy", "opendkim"):
        print("DKIM side by side with %s: %d signatures, %d agree, %d differ" %
              (peer, compared[peer], agree[peer], compared[peer] - agree[peer]))
    for k, n in sorted(tally.items(), key=lambda kv: str(kv[0])):
        print("  mxguard=%s dkimpy=%s opendkim=%s: %d" % (k[0], k[1], k[2], n))
    failed = False
    for key, what in sorted(seen.items()):
        if key in DIFFERENCES:
            print("  differ (%s): %s %s: %s" % (RULES[DIFFERENCES[key]], key[0], key[1], what))
        else:
            print("  UNLISTED %s %s: %s" % (key[0], key[1], what))
            failed = True
    for key in sorted(set(DIFFERENCES) - set(seen)):
        print("  LISTED BUT NOT SEEN %s %s (%s)" % (key[0], key[1], DIFFERENCES[key]))
        failed = True
    if compared["dkimpy"] < 100 or agree["opendkim"] < 50:
        print("  too few signatures compared")
        failed = True
    shutil.rmtree(tmp, ignore_errors=True)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
