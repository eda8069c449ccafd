#!/usr/bin/python3
"""dkim_peers.py: DKIM verifications per CPU-second (user + sys) for mxguard, dkimpy and
OpenDKIM on one message set (docs/benchmarks.md, "DKIM verification against peers").
Run through bench/dkim_peers.sh (make bench).

Message set (generated here, fixed content, fresh keys each run): four classes of N
distinct messages, each with one DKIM-Signature (relaxed/relaxed, h=from:to:subject:
date:message-id, signed by dkimpy): rsa-sha256 with a 2048-bit key and ed25519-sha256
(RFC 8463), bodies of ~2 KB and ~100 KB of mail-like text.

How each is measured (CPU of the verifying process only, one core):
  mxguard   build/bench/bench_dkim_peers_bench (Google Benchmark; dkim::verify of one
            in-memory message per iteration, keys from an in-memory zone); cpu_time.
  dkimpy    this process, resource.getrusage(RUSAGE_SELF) around a loop of
            dkim.DKIM(msg).verify(idx=0, dnsfunc=dict lookup) over the messages in memory.
  OpenDKIM  `opendkim -t F1,F2,...` (opendkim(8) test mode; keys from TestDNSData):
            one process verifies the whole list (the class's files, repeated R times);
            its start-up is removed by also running it on one file:
            per message = (cpu(list) - cpu(one file)) / (len(list) - 1), CPU from wait4().
            This includes reading each file and OpenDKIM's milter emulation, which is the
            only way to run it without an MTA.
Every verification must pass in every verifier (checked) or the run fails.
MXG_DKIM_PEERS_ALT=PATH also runs another build's bench_dkim_peers_bench (e.g. before a
change) on the same messages, between the others, and prints it as a column "alt" with
mxguard / alt: a before/after ratio measured in the same run.
Must never: use the network, write outside its temporary directory.
"""
import base64
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile

try:
    import dkim
except ImportError:
    print("SKIP: python3-dkim not installed")
    sys.exit(0)

OPENDKIM = shutil.which("opendkim") or "/usr/sbin/opendkim"
CLASSES = [("rsa2048-2k", "rsa", 2 * 1024), ("rsa2048-100k", "rsa", 100 * 1024),
           ("ed25519-2k", "ed", 2 * 1024), ("ed25519-100k", "ed", 100 * 1024)]
N = int(os.environ.get("MXG_DKIM_BENCH_MESSAGES", "100"))
LINE = b"The quick brown fox  jumps over the lazy dog,\tagain and again; 0123456789.\r\n"


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def cpu_of(cmd):
    """(user+sys CPU seconds of the child, stdout+stderr)."""
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s" % (cmd[0], p.returncode, text[-2000:]))
    return ru.ru_utime + ru.ru_stime, text


def self_cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main():
    mxguard = os.environ.get("MXGUARD")
    bench = os.environ.get("MXG_DKIM_PEERS_BENCH") or (
        os.path.join(os.path.dirname(mxguard), "bench", "bench_dkim_peers_bench") if mxguard else None)
    if not bench or not os.path.exists(bench):
        print("SKIP: build bench_dkim_peers_bench first (cmake --build build --target bench_dkim_peers_bench)")
        return 0
    if not os.path.exists(OPENDKIM):
        print("SKIP: opendkim not installed")
        return 0
    tmp = tempfile.mkdtemp(prefix="mxg-dkim-bench-")
    try:
        return measure(tmp, bench)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure(tmp, bench):
    rsa_pem, ed_pem = os.path.join(tmp, "rsa.pem"), os.path.join(tmp, "ed.pem")
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", rsa_pem])
    run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", ed_pem])
    rsa_pub = run(["openssl", "pkey", "-in", rsa_pem, "-pubout", "-outform", "DER"])
    ed_pub = run(["openssl", "pkey", "-in", ed_pem, "-pubout", "-outform", "DER"])[-32:]
    ed_seed = base64.b64encode(run(["openssl", "pkey", "-in", ed_pem, "-outform", "DER"])[-32:])
    privs = {"rsa": open(rsa_pem, "rb").read(), "ed": ed_seed}
    algs = {"rsa": b"rsa-sha256", "ed": b"ed25519-sha256"}
    keys = {"rsa._domainkey.example.com": "v=DKIM1; k=rsa; p=" + base64.b64encode(rsa_pub).decode(),
            "ed._domainkey.example.com": "v=DKIM1; k=ed25519; p=" + base64.b64encode(ed_pub).decode()}
    with open(os.path.join(tmp, "keys.txt"), "w") as f:
        for k, v in keys.items():
            f.write("%s %s\n" % (k, v))
    conf = os.path.join(tmp, "opendkim.conf")
    with open(conf, "w") as f:
        f.write("Mode v\nSyslog no\nTestDNSData file:%s\n" % os.path.join(tmp, "keys.txt"))

    files, msgs = {}, {}
    for cls, sel, size in CLASSES:
        d = os.path.join(tmp, cls)
        os.makedirs(d)
        files[cls], msgs[cls] = [], []
        for i in range(N):
            body = b"Message %d of class %s.\r\n" % (i, cls.encode()) + LINE * (size // len(LINE))
            m = (b"From: Joe <joe@example.com>\r\nTo: Suzie <suzie@example.net>\r\n"
                 b"Subject: benchmark %d\r\nDate: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
                 b"Message-ID: <%d.%s@example.com>\r\n\r\n" % (i, i, cls.encode())) + body
            sig = dkim.sign(m, sel.encode(), b"example.com", privs[sel],
                            canonicalize=(b"relaxed", b"relaxed"),
                            include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
                            signature_algorithm=algs[sel])
            path = os.path.join(d, "%04d.eml" % i)
            open(path, "wb").write(sig + m)
            files[cls].append(path)
            msgs[cls].append(sig + m)

    # mxguard (and, when asked, another build of it)
    def gbench(path):
        env = dict(os.environ, MXG_DKIM_PEERS_DIR=tmp)
        out = subprocess.run([path, "--benchmark_format=json", "--benchmark_min_time=1"],
                             check=True, capture_output=True, env=env).stdout
        rates = {}
        for b in json.loads(out)["benchmarks"]:
            if b.get("error_occurred"):
                raise RuntimeError("%s: %s" % (b["name"], b.get("error_message")))
            cls = dict((c.replace("-", "_"), c) for c, _, _ in CLASSES)[b["name"].split("/")[1]]
            rates[cls] = b["items_per_second"]
        return rates

    alt_path = os.environ.get("MXG_DKIM_PEERS_ALT")
    ours = gbench(bench)
    alt = gbench(alt_path) if alt_path else None

    # dkimpy
    def dnsfunc(name, timeout=5):
        v = keys.get(name.decode().rstrip(".").lower())
        return v.encode() if v else None

    py = {}
    for cls, _, _ in CLASSES:
        done, start = 0, self_cpu()
        while self_cpu() - start < 2.0:
            for m in msgs[cls]:
                if not dkim.DKIM(m).verify(idx=0, dnsfunc=dnsfunc):
                    raise RuntimeError("dkimpy: %s did not verify" % cls)
                done += 1
        py[cls] = done / (self_cpu() - start)

    # OpenDKIM
    od, od_start = {}, {}
    for cls, _, size in CLASSES:
        repeat = max(1, (1000 if size < 10000 else 300) // N)
        lst = files[cls] * repeat
        one, text1 = cpu_of([OPENDKIM, "-x", conf, "-t", files[cls][0]])
        full, text = cpu_of([OPENDKIM, "-x", conf, "-t", ",".join(lst)])
        ok = text.count(") succeeded")
        if ok != len(lst) or text1.count(") succeeded") != 1:
            raise RuntimeError("opendkim: %d of %d verified for %s\n%s" % (ok, len(lst), cls, text[-1000:]))
        od[cls] = (len(lst) - 1) / max(full - one, 1e-9)
        od_start[cls] = one

    ver = run([OPENDKIM, "-V"]).decode().splitlines()[0]
    print("DKIM verifications per CPU-second (one core), %d messages per class" % N)
    print("| class | mxguard | dkimpy %s | %s | mxguard / OpenDKIM | mxguard / dkimpy |" %
          (getattr(dkim, "__version__", "1.1.x"), ver.replace("opendkim: ", "")))
    print("|---|---|---|---|---|---|")
    for cls, _, _ in CLASSES:
        print("| %s | %.0f | %.0f | %.0f | %.1fx | %.1fx |" %
              (cls, ours[cls], py[cls], od[cls], ours[cls] / od[cls], ours[cls] / py[cls]))
    if alt:
        print("alt = %s (same messages, run right after mxguard)" % alt_path)
        print("| class | mxguard | alt | mxguard / alt | alt / OpenDKIM |")
        print("|---|---|---|---|---|")
        for cls, _, _ in CLASSES:
            print("| %s | %.0f | %.0f | %.2fx | %.1fx |" %
                  (cls, ours[cls], alt[cls], ours[cls] / alt[cls], alt[cls] / od[cls]))
    print("OpenDKIM start-up + one message: %s CPU-ms" %
          ", ".join("%s %.1f" % (c, od_start[c] * 1000) for c, _, _ in CLASSES))
    worst = min(ours[c] / od[c] for c, _, _ in CLASSES)
    print("goal (issue 10): >= 5x OpenDKIM per CPU-second: %s (lowest ratio %.1fx)" %
          ("met" if worst >= 5 else "NOT met", worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
