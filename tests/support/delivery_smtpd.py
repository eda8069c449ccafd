#!/usr/bin/python3
"""delivery_smtpd.py: a small scripted SMTP server (sockets only) for the delivery
integration tests. It answers RCPT per recipient by its local part, so a test can
get per-recipient temporary and permanent failures in one transaction:
    temp*  -> 450 4.2.0 mailbox busy (try again later)
    perm*  -> 550 5.1.1 no such user
    other  -> 250 2.1.5 ok
EHLO offers PIPELINING, 8BITMIME, SIZE and, with --cert/--key, STARTTLS (RFC 3207).
Each accepted message is written to DIR/msg-N.eml with an envelope header block:
    X-Env-From: <sender>
    X-Env-To: <rcpt>      (one per accepted recipient)
    X-TLS: yes|no
    X-Pipelined: yes|no   (yes when MAIL and RCPTs arrived in one read)
    <blank line>
    <message as received, dot-unstuffed>
Listens on 127.0.0.1 only; stops after --max-seconds (bounded test time).
Usage: delivery_smtpd.py PORT DIR [--cert C --key K] [--max-seconds N]
"""
import argparse
import os
import socket
import ssl
import threading
import time


def serve_client(conn, args, counter, lock):
    f_tls = [False]
    stream = [conn]
    buf = [b""]

    def send(line):
        stream[0].sendall(line.encode() + b"\r\n")

    def fill():
        data = stream[0].recv(65536)
        if not data:
            raise EOFError
        buf[0] += data
        return data

    def readline():
        while b"\n" not in buf[0]:
            fill()
        line, rest = buf[0].split(b"\n", 1)
        buf[0] = rest
        return line.rstrip(b"\r").decode("utf-8", "replace")

    sender, rcpts, pipelined = None, [], False
    send("220 scripted.test ESMTP delivery_smtpd")
    try:
        while True:
            # Pipelining is detected when MAIL arrives with more commands in the buffer.
            line = readline()
            verb = line.split(" ", 1)[0].upper().split(":", 1)[0]
            if verb == "EHLO":
                ext = ["PIPELINING", "8BITMIME", "SIZE 10485760", "ENHANCEDSTATUSCODES"]
                if args.cert and not f_tls[0]:
                    ext.append("STARTTLS")
                send("250-scripted.test")
                for i, e in enumerate(ext):
                    send(("250 " if i == len(ext) - 1 else "250-") + e)
            elif verb == "HELO":
                send("250 scripted.test")
            elif verb == "STARTTLS" and args.cert and not f_tls[0]:
                send("220 2.0.0 Ready to start TLS")
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(args.cert, args.key)
                stream[0] = ctx.wrap_socket(conn, server_side=True)
                f_tls[0] = True
                buf[0] = b""
                sender, rcpts = None, []
            elif verb == "MAIL":
                pipelined = b"RCPT" in buf[0].upper()
                sender = line[line.index(":") + 1 :].strip().split(" ")[0]
                rcpts = []
                send("250 2.1.0 sender ok")
            elif verb == "RCPT":
                addr = line[line.index(":") + 1 :].strip().split(" ")[0].strip("<>")
                local = addr.split("@")[0].lower()
                if local.startswith("temp"):
                    send("450 4.2.0 <%s>: mailbox busy, try again later" % addr)
                elif local.startswith("perm"):
                    send("550 5.1.1 <%s>: no such user here" % addr)
                else:
                    rcpts.append(addr)
                    send("250 2.1.5 ok")
            elif verb == "DATA":
                if not rcpts:
                    send("554 5.5.1 no valid recipients")
                    continue
                send("354 go ahead")
                lines = []
                while True:
                    l = readline()
                    if l == ".":
                        break
                    lines.append(l[1:] if l.startswith(".") else l)
                with lock:
                    counter[0] += 1
                    n = counter[0]
                head = "X-Env-From: %s\r\n" % sender
                head += "".join("X-Env-To: <%s>\r\n" % r for r in rcpts)
                head += "X-TLS: %s\r\nX-Pipelined: %s\r\n\r\n" % (
                    "yes" if f_tls[0] else "no", "yes" if pipelined else "no")
                path = os.path.join(args.dir, "msg-%d.eml" % n)
                with open(path + ".tmp", "w", encoding="utf-8", newline="") as out:
                    out.write(head + "\r\n".join(lines) + "\r\n")
                os.rename(path + ".tmp", path)
                send("250 2.0.0 queued as SCRIPTED%d" % n)
                sender, rcpts = None, []
            elif verb == "RSET":
                sender, rcpts = None, []
                send("250 2.0.0 ok")
            elif verb == "NOOP":
                send("250 2.0.0 ok")
            elif verb == "QUIT":
                send("221 2.0.0 bye")
                break
            else:
                send("502 5.5.1 not implemented")
    except (EOFError, OSError, ssl.SSLError):
        pass
    finally:
        try:
            stream[0].close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("dir")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--max-seconds", type=float, default=120)
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(16)
    srv.settimeout(0.5)
    counter, lock = [0], threading.Lock()
    deadline = time.time() + args.max_seconds
    while time.time() < deadline:
        try:
            conn, _ = srv.accept()
        except socket.timeout:
            continue
        conn.settimeout(30)
        threading.Thread(target=serve_client, args=(conn, args, counter, lock), daemon=True).start()


if __name__ == "__main__":
    main()
