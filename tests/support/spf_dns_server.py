"""spf_dns_server.py: a small authoritative DNS server (UDP and TCP, RFC 1035 4.2) for
the openspf conformance suites (../shared/conformance/spf), standard library only.

It serves one scenario's `zonedata` at a time on a loopback port with the rules of
../shared/conformance/spf/SOURCE.md ("How pyspf's harness gives the zonedata meaning"):

* owner names are lower-cased (ASCII only, as DNS compares names, RFC 4343), empty
  labels dropped; strings are UTF-8 encoded, so YAML "\\x00" is an embedded NUL octet
  and "\\x80" is C2 80;
* TXT/SPF values are one character-string (a string) or several (a list); `[]` is an RR
  with no character-string at all (RDLENGTH 0, test null-text); a string longer than 255
  octets is split (RFC 1035 3.3);
* SPF->TXT copying: an owner with no TXT entry gets every SPF entry again as a TXT RR,
  after all listed entries (including a TIMEOUT); `TXT: NONE` is no record but counts as
  a TXT entry;
* a name not in the zone -> NXDOMAIN; in the zone without an RR of the type -> NOERROR
  with an empty answer (both are "void" for SPF, as in the harness);
* entries are walked in order; a bare TIMEOUT before any RR of the asked type -> no answer
  at all (the query is dropped; over TCP the connection is closed without a reply);
  after one -> the walk stops there;
* CNAMEs: the CNAME RR is answered and its target's RRs appended (RFC 1034 4.3.2), with
  the same rules (the target's TIMEOUT counts), followed case-insensitively, at most 10
  links, a loop stops the chain (the answer then has only the CNAMEs); a CNAME to ''
  points to the root, which has no data;
* UDP answers over 512 octets are truncated (TC set, RFC 1035 4.2.1) so that the client
  retries over TCP, which carries the whole answer.

Names are handled as octets end to end: a label from the wire is compared as bytes
(ASCII case folded), never decoded, so labels with spaces, '%' or any other byte work.

Usage as a module:
    srv = SpfDnsServer(); srv.start(); srv.set_zonedata(doc["zonedata"]); ... srv.stop()
    srv.port   # the UDP and TCP port on 127.0.0.1
    srv.queries  # count of questions received (a harness can check the server was asked)
Usage from a shell (debugging one scenario):
    python3 spf_dns_server.py FILE.yml SCENARIO-INDEX [PORT]
"""

import socket
import struct
import sys
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16,
         "AAAA": 28, "SPF": 99}
T_CNAME = 5
T_TXT = 16
T_SPF = 99
CLASS_IN = 1
TTL = 300
UDP_MAX = 512
CNAME_CHAIN_MAX = 10
RCODE_NOERROR, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP = 0, 1, 3, 4


class Timeout(Exception):
    """The zone says: no answer to this question."""


def owner_key(name):
    """Text name -> tuple of lower-case label octets (empty labels dropped)."""
    if isinstance(name, str):
        name = name.encode("utf-8")
    return tuple(l.lower() for l in name.split(b".") if l)


def encode_name(labels):
    out = b""
    for l in labels:
        if len(l) > 63:
            raise ValueError("label longer than 63 octets")
        out += bytes([len(l)]) + l
    return out + b"\0"


def text_strings(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in value]
    return [value.encode("utf-8") if isinstance(value, str) else bytes(value)]


def txt_rdata(strings):
    out = b""
    for s in strings:
        if not s:
            out += b"\0"
        while s:
            chunk, s = s[:255], s[255:]
            out += bytes([len(chunk)]) + chunk
    return out


def build_zone(zonedata):
    """YAML zonedata map -> {owner key: [entry]}, entry = "TIMEOUT" or (type, rdata)."""
    zone = {}
    for owner, entries in (zonedata or {}).items():
        key = owner_key(str(owner))
        out = zone.setdefault(key, [])
        has_txt = False
        spf_copies = []
        for e in entries or []:
            if isinstance(e, str):
                if e != "TIMEOUT":
                    raise ValueError("unknown zonedata marker %r" % e)
                out.append("TIMEOUT")
                continue
            if not isinstance(e, dict) or len(e) != 1:
                raise ValueError("zonedata entry of %r is not a single-key map" % owner)
            (typ, value), = e.items()
            if typ == "TXT":
                has_txt = True
                if value == "NONE":
                    continue
            if typ in ("TXT", "SPF"):
                rdata = txt_rdata(text_strings(value))
                if typ == "SPF":
                    spf_copies.append(rdata)
            elif typ == "A":
                rdata = socket.inet_pton(socket.AF_INET, value)
            elif typ == "AAAA":
                rdata = socket.inet_pton(socket.AF_INET6, value)
            elif typ in ("PTR", "CNAME"):
                rdata = ("name", owner_key(value))
            elif typ == "MX":
                rdata = ("mx", int(value[0]), owner_key(value[1]))
            else:
                raise ValueError("unsupported zonedata type %r" % typ)
            out.append((TYPES[typ], rdata))
        if not has_txt:
            out.extend((T_TXT, r) for r in spf_copies)
    return zone


def encode_rdata(rdata):
    if isinstance(rdata, tuple) and rdata[0] == "name":
        return encode_name(rdata[1])
    if isinstance(rdata, tuple) and rdata[0] == "mx":
        return struct.pack("!H", rdata[1]) + encode_name(rdata[2])
    return rdata


def resolve(zone, qname, qtype):
    """-> (rcode, [(owner key, type, rdata)]); raises Timeout."""
    name = qname
    seen = set()
    answers = []
    for _ in range(CNAME_CHAIN_MAX + 1):
        if name in seen:
            return RCODE_NOERROR, answers  # CNAME loop: only the CNAMEs
        seen.add(name)
        entries = zone.get(name)
        if entries is None:
            return (RCODE_NXDOMAIN if not answers else RCODE_NOERROR), answers
        found = []
        cname = None
        for e in entries:
            if e == "TIMEOUT":
                if not found:
                    raise Timeout()
                break
            typ, rdata = e
            if typ == qtype:
                found.append((name, typ, rdata))
            elif typ == T_CNAME and cname is None and qtype != T_CNAME:
                cname = rdata
        if found or cname is None:
            return RCODE_NOERROR, answers + found
        answers.append((name, T_CNAME, cname))
        name = cname[1]
    return RCODE_NOERROR, answers


def parse_question(msg):
    """-> (id, flags, qname labels as received, qtype, qclass, end offset) or None."""
    if len(msg) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qd != 1:
        return None
    pos = 12
    labels = []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        if n == 0:
            pos += 1
            break
        if n & 0xC0 or pos + 1 + n > len(msg):
            return None
        labels.append(msg[pos + 1:pos + 1 + n])
        pos += 1 + n
    if pos + 4 > len(msg):
        return None
    qtype, qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, labels, qtype, qclass, pos + 4


def answer_message(zone, msg, udp):
    """-> reply bytes, or None for "no answer" (TIMEOUT) or an unparsable query."""
    q = parse_question(msg)
    if q is None:
        return None
    qid, qflags, labels, qtype, qclass, qend = q
    question = msg[12:qend]
    rd = qflags & 0x0100
    rcode = RCODE_NOERROR
    rrs = []
    if (qflags >> 11) & 0xF != 0:
        rcode = RCODE_NOTIMP
    elif qclass != CLASS_IN:
        rcode = RCODE_NOTIMP
    else:
        rcode, rrs = resolve(zone, tuple(l.lower() for l in labels), qtype)  # may raise
    body = b""
    for owner, typ, rdata in rrs:
        rd_bytes = encode_rdata(rdata)
        body += encode_name(owner) + struct.pack("!HHIH", typ, CLASS_IN, TTL, len(rd_bytes))
        body += rd_bytes
    flags = 0x8000 | 0x0400 | rd | rcode  # QR, AA
    reply = struct.pack("!HHHHHH", qid, flags, 1, len(rrs), 0, 0) + question + body
    if udp and len(reply) > UDP_MAX:
        reply = struct.pack("!HHHHHH", qid, flags | 0x0200, 1, 0, 0, 0) + question
    return reply


class SpfDnsServer:
    def __init__(self, host="127.0.0.1"):
        self.host = host
        self.zone = {}
        self.queries = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        for _ in range(20):  # the TCP port must equal the (OS-chosen) UDP port
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((host, port))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            self.udp, self.tcp, self.port = udp, tcp, port
            break
        else:
            raise OSError("no free port for UDP and TCP together")
        self.udp.settimeout(0.2)
        self.tcp.settimeout(0.2)

    def set_zonedata(self, zonedata):
        zone = build_zone(zonedata)
        with self._lock:
            self.zone = zone

    def _answer(self, msg, udp):
        with self._lock:
            zone = self.zone
            self.queries += 1
        try:
            return answer_message(zone, msg, udp)
        except Timeout:
            return None

    def _serve_udp(self):
        while not self._stop.is_set():
            try:
                msg, peer = self.udp.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(msg, True)
            if reply is not None:
                self.udp.sendto(reply, peer)

    def _serve_tcp_conn(self, conn):
        with conn:
            conn.settimeout(5)
            buf = b""
            try:
                while not self._stop.is_set():
                    data = conn.recv(65535)
                    if not data:
                        return
                    buf += data
                    while len(buf) >= 2:
                        n = struct.unpack("!H", buf[:2])[0]
                        if len(buf) < 2 + n:
                            break
                        msg, buf = buf[2:2 + n], buf[2 + n:]
                        reply = self._answer(msg, False)
                        if reply is None:
                            return  # TIMEOUT: close without answering
                        conn.sendall(struct.pack("!H", len(reply)) + reply)
            except OSError:
                return

    def _serve_tcp(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve_tcp_conn, args=(conn,), daemon=True)
            t.start()

    def start(self):
        for target in (self._serve_udp, self._serve_tcp):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join()
        self.udp.close()
        self.tcp.close()


def main(argv):
    import yaml
    if len(argv) < 3:
        print(__doc__)
        return 2
    docs = [d for d in yaml.safe_load_all(open(argv[1], "rb")) if d]
    srv = SpfDnsServer()
    if len(argv) > 3:  # a fixed port: rebind
        srv.udp.close()
        srv.tcp.close()
        srv.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        srv.udp.bind((srv.host, int(argv[3])))
        srv.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.tcp.bind((srv.host, int(argv[3])))
        srv.tcp.listen(16)
        srv.udp.settimeout(0.2)
        srv.tcp.settimeout(0.2)
        srv.port = int(argv[3])
    srv.set_zonedata(docs[int(argv[2])].get("zonedata"))
    srv.start()
    print("serving %s scenario %s on 127.0.0.1:%d (UDP and TCP); Ctrl-C stops"
          % (argv[1], argv[2], srv.port), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
