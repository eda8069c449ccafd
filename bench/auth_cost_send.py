#!/usr/bin/python3
"""auth_cost_send.py: the load generator of bench/auth_cost.sh. smtp-source (Postfix)
sends one generated message it builds itself, so it cannot send DKIM-signed mail; this
sends prepared messages instead, as smtp-source does otherwise: SESSIONS concurrent
sessions, one message per connection, COUNT messages in all, the messages of DIR taken
in turn (already dot-stuffed, CRLF, ending in CRLF).

Per connection: greeting, EHLO, then MAIL, RCPT and DATA in one write when the server
offers PIPELINING (RFC 2920 3.1: DATA last in the group), the message and ".", QUIT.
Every reply is read and checked (2xx/354): a refusal is an error, not a faster run.
Usage: auth_cost_send.py PORT SESSIONS COUNT DIR HELO MAIL_FROM RCPT_TO
Prints "sent N" on success; exits 1 on the first error (with the reply).
Must never: connect anywhere but 127.0.0.1:PORT."""
import asyncio
import os
import sys


async def reply(r):
    """One (possibly multi-line) reply -> (code, last line)."""
    while True:
        line = await r.readline()
        if not line:
            raise RuntimeError("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            return int(line[:3]), line.rstrip()


async def one(port, helo, envelope, msg, caps):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        code, line = await reply(r)
        if code != 220:
            raise RuntimeError(f"greeting: {line!r}")
        w.write(helo)
        # EHLO reply: note PIPELINING on the first session.
        lines = []
        while True:
            line = await r.readline()
            if not line:
                raise RuntimeError("closed after EHLO")
            lines.append(line)
            if line[3:4] != b"-":
                break
        if not lines[-1].startswith(b"250"):
            raise RuntimeError(f"EHLO: {lines[-1]!r}")
        if caps is None:
            caps = any(ln[4:].upper().startswith(b"PIPELINING") for ln in lines)
        if caps:
            w.write(envelope[0] + envelope[1] + b"DATA\r\n")
            for want in (250, 250, 354):
                code, line = await reply(r)
                if code != want:
                    raise RuntimeError(f"envelope: {line!r}")
        else:
            for cmd, want in ((envelope[0], 250), (envelope[1], 250), (b"DATA\r\n", 354)):
                w.write(cmd)
                code, line = await reply(r)
                if code != want:
                    raise RuntimeError(f"envelope: {line!r}")
        w.write(msg)
        w.write(b".\r\nQUIT\r\n")
        code, line = await reply(r)
        if code != 250:
            raise RuntimeError(f"end of data: {line!r}")
        await reply(r)  # 221
        return caps
    finally:
        w.close()


async def main():
    port, sessions, count = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    d, helo, mfrom, rcpt = sys.argv[4:8]
    msgs = []
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            msgs.append(f.read())
    if not msgs:
        raise SystemExit(f"no messages in {d}")
    helo_b = f"EHLO {helo}\r\n".encode()
    envelope = (f"MAIL FROM:<{mfrom}>\r\n".encode(), f"RCPT TO:<{rcpt}>\r\n".encode())
    nxt = 0
    caps = None

    async def worker():
        nonlocal nxt, caps
        while nxt < count:
            i = nxt
            nxt += 1
            caps = await one(port, helo_b, envelope, msgs[i % len(msgs)], caps)

    await asyncio.gather(*(worker() for _ in range(min(sessions, count))))
    print(f"sent {count}")


try:
    asyncio.run(main())
except Exception as e:  # noqa: BLE001 (any failure ends the run with its reason)
    print(f"auth_cost_send: {e}", file=sys.stderr)
    sys.exit(1)
