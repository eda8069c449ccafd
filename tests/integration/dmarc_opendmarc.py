#!/usr/bin/python3
"""dmarc_opendmarc.py: OpenDMARC (opendmarc -t, a peer nobody here wrote) run offline on
mxguard's DMARC evaluation suite (tests/conformance/dmarc/cases.jsonl: RFC 9989 examples
and what OpenDMARC's and Mail::DMARC's own tests assert), case by case, and compared with
the answer of each case, which conformance.dmarc_suite_test holds mxguard's evaluator
(dmarc::evaluate, both paths) to. So every difference printed here is a difference
between OpenDMARC and mxguard.

How OpenDMARC runs offline (opendmarc(8) -t FILE; options read from its source and
binary, since opendmarc.conf(5) of 1.4.2 does not list the first one):
  TestDNSData FILE      "NAME VALUE" lines loaded with opendmarc_dns_fake_record(): the
                        DMARC TXT records of the case (a name not listed: no record)
  TrustedAuthservIDs    the authserv-id whose Authentication-Results carry SPF and DKIM
                        (OpenDMARC does not verify DKIM or SPF itself): one field per
                        message with the case's spf= (smtp.mailfrom) and dkim= (header.d)
  PublicSuffixList      ../shared/conformance/psl (OpenDMARC 1.4 finds the
                        organizational domain with the PSL, RFC 7489 3.2)
It prints the Authentication-Results it would insert: "dmarc=RESULT (p=P dis=D)
header.from=DOMAIN".

Compared: the result (pass | fail | none | temperror | permerror), and for pass/fail the
published policy that applies. Every difference must be listed in DIFFERENCES (a case id
-> the rule that decides it, documented in docs/auth.md "Differences from peers"), and
every listed difference must be seen. Exit 77 when opendmarc is missing.
Must never: use the network (TestDNSData only), change the suite (read only).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

OPENDMARC = shutil.which("opendmarc") or ("/usr/sbin/opendmarc" if os.path.exists("/usr/sbin/opendmarc") else None)
if not OPENDMARC:
    print("SKIP: opendmarc not installed")
    sys.exit(77)

SRC = os.environ.get("MXG_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SHARED = os.environ.get("MXG_SHARED_DIR") or os.path.join(SRC, "..", "shared")
CASES = os.path.join(SRC, "tests", "conformance", "dmarc", "cases.jsonl")
PSL = os.path.join(SHARED, "conformance", "psl", "public_suffix_list.dat")

RULES = {
    "treewalk": "RFC 9989 4.10 (tree walk, psd=; replaces RFC 7489's PSL): OpenDMARC 1.4.2 finds "
                "the policy and organizational domain with the PSL, or not at all for names "
                "under a suffix the PSL does not list",
    "np": "RFC 9989 4.7 np= (non-existent subdomains, new in DMARCbis): OpenDMARC 1.4.2 ignores np=",
    "invalid-record": "RFC 9989 4.8 / 4.10.1 (unknown tags ignored, a syntax error in a tag falls "
                      "back to its default, a record without a valid p= is p=none when rua= is "
                      "valid and is ignored otherwise, non-DMARC TXT discarded): OpenDMARC says permerror",
    "v-tag": "RFC 9989 4.7 v= (must be the first tag, case-sensitive \"DMARC1\", else the record is "
             "ignored): OpenDMARC 1.4.2 accepts the record",
    "strict": "RFC 9989 4.4.1/4.4.2 (strict alignment needs identical domains): OpenDMARC 1.4.2 "
              "passed a subdomain under aspf=s / adkim=s",
    "from": "RFC 9989 5.3.1 / 4.4 (no From, several From fields or domains: no Author Domain, we "
            "say permerror; a U-label is compared as its A-label): OpenDMARC gives no result, "
            "or evaluates one of the fields",
    "dns-temperror": "RFC 9989 5.3.6 (a DNS failure is temperror): TestDNSData cannot express a "
                     "timeout, so OpenDMARC sees no record (a harness limit, not a disagreement "
                     "we could settle here)",
}
DIFFERENCES = {
    "mdmarc-psd-y": "treewalk", "mdmarc-treewalk-anchor": "treewalk",
    "mdmarc-np-real": "treewalk", "odmarc-fallback-1": "treewalk",
    "odmarc-fallback-3": "treewalk", "odmarc-walk-eightlabel": "treewalk",
    "odmarc-walk-nopsd": "treewalk", "odmarc-walk-psdn": "treewalk",
    "odmarc-walk-psdy": "treewalk", "odmarc-walk-psdy-psl": "treewalk",
    "rfc-4.10.2-ex2": "treewalk", "rfc-4.10.2-ex2-na": "treewalk",
    "rfc-4.10.2-ex3": "treewalk", "rfc-4.10.2-rule2-start": "treewalk",
    "rfc-4.10-step2-multi": "treewalk",
    "mdmarc-np-ghost": "np", "rfc-4.7-np": "np", "rfc-4.10.1-invalid-np-rua": "np",
    "rfc-5.3.6-existence": "np",
    "mdmarc-invalid-sp-norua": "invalid-record", "mdmarc-invalid-sp-rua": "invalid-record",
    "rfc-4.10.1-invalid-p": "invalid-record", "rfc-4.10.1-invalid-p-rua": "invalid-record",
    "rfc-4.7-p-absent": "invalid-record", "rfc-4.8-unknown-tag": "invalid-record",
    "rfc-4.10-step2-other-txt": "invalid-record",
    "rfc-4.7-v-case": "v-tag", "rfc-4.7-v-first": "v-tag",
    "rfc-4.5-strings": "strict", "rfc-b11-2s": "strict",
    "mdmarc-from-noaddr": "from", "mdmarc-from-two": "from", "rfc-5.3.1-none": "from",
    "rfc-5.3.1-two-domains": "from", "rfc-5.3.1-two-fields": "from", "rfc-5.3.1-ulabel": "from",
    "rfc-5.3.6-alignment": "dns-temperror", "rfc-5.3.6-author": "dns-temperror",
    "rfc-5.3.6-walk": "dns-temperror",
    "ah-multi-from": "from", "ah-multi-from2": "from", "ah-nofrom": "from",
    "ah-no-p": "invalid-record", "ah-np1": "np",
}


def opendmarc_case(tmp, case):
    dns = os.path.join(tmp, "dns.txt")
    with open(dns, "w") as f:
        for entry in case["zone"]:
            name, rtype = entry[0], entry[1]
            if rtype != "TXT":
                continue
            value = entry[2] if isinstance(entry[2], str) else "".join(entry[2])
            if not name.lower().startswith("_dmarc."):
                continue
            if not value.strip():
                # An empty TXT is no DMARC record (RFC 9989 4.10 step 2), the same answer
                # as no TXT at all; TestDNSData cannot hold an empty value (a line with a
                # name alone makes opendmarc 1.4.2 exit without a result).
                continue
            f.write("%s %s\n" % (name, value))
    conf = os.path.join(tmp, "opendmarc.conf")
    with open(conf, "w") as f:
        f.write("TestDNSData %s\nTrustedAuthservIDs mx.test\nAuthservID mx.local\nSyslog false\n"
                "PublicSuffixList %s\nRejectFailures false\n" % (dns, PSL))
    ar = []
    if case["spf"]["result"]:
        ar.append("spf=%s smtp.mailfrom=%s" % (case["spf"]["result"], case["spf"]["domain"]))
    for d in case["dkim"]:
        ar.append("dkim=%s header.d=%s header.s=%s" % (d["result"], d["domain"], d.get("selector") or "sel"))
    head = ""
    if ar:
        head += "Authentication-Results: mx.test; " + "; ".join(ar) + "\r\n"
    for f in case["from"]:
        head += f + "\r\n"
    head += "To: postmaster@example.net\r\nSubject: dmarc\r\nMessage-ID: <%s@test>\r\n" % case["id"]
    msg = os.path.join(tmp, "msg.eml")
    open(msg, "wb").write((head + "\r\nbody\r\n").encode())
    # The envelope sender is the SPF identity (opendmarc(8) test mode reads it from
    # OPENDMARC_TEST_ENVFROM; its default <sender@example.org> would be another domain).
    env = dict(os.environ, OPENDMARC_TEST_CLIENTIP="192.0.2.1")
    if case["spf"]["domain"]:
        env["OPENDMARC_TEST_ENVFROM"] = "<postmaster@%s>" % case["spf"]["domain"]
    out = subprocess.run([OPENDMARC, "-c", conf, "-t", msg, "-vv"], capture_output=True, timeout=60,
                         env=env)
    text = out.stdout.decode("utf-8", "replace") + out.stderr.decode("utf-8", "replace")
    m = re.search(r"dmarc=(\w+)(?: \(p=(\w+) dis=(\w+)\))?", text)
    if not m:  # no Authentication-Results: OpenDMARC gave no DMARC result
        return "no-result", None, text
    return m.group(1), m.group(2), text


def main():
    if not os.path.exists(CASES):
        print("SKIP: %s missing (the DMARC suite of branch dmarc-core)" % CASES)
        return 77
    tmp = tempfile.mkdtemp(prefix="mxg-opendmarc-")
    cases = [json.loads(l) for l in open(CASES) if l.strip()]
    agree, seen = 0, {}
    for c in cases:
        res, pol, raw = opendmarc_case(tmp, c)
        exp_res = c["expect"]["result"]
        exp_pol = c["expect"].get("policy")
        theirs = "%s/%s" % (res, pol if res in ("pass", "fail") else "-")
        ours = "%s/%s" % (exp_res, exp_pol if exp_res in ("pass", "fail") else "-")
        if theirs == ours:
            agree += 1
        else:
            seen[c["id"]] = "mxguard %s, opendmarc %s (%s)" % (ours, theirs, c["source"])
    print("DMARC side by side with OpenDMARC: %d cases, %d agree on result/policy, %d differ" %
          (len(cases), agree, len(seen)))
    failed = False
    for cid, what in sorted(seen.items()):
        if cid in DIFFERENCES:
            print("  differ (%s): %s: %s" % (RULES[DIFFERENCES[cid]], cid, what))
        else:
            print("  UNLISTED %s: %s" % (cid, what))
            failed = True
    for cid in sorted(set(DIFFERENCES) - set(seen)):
        print("  LISTED BUT NOT SEEN %s" % cid)
        failed = True
    shutil.rmtree(tmp, ignore_errors=True)
    print("FAILED" if failed else "OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
