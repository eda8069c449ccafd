mxguard-queue: 1
id: 00661A2B3C4D5A3F9C
created: 2026-11-28T03:16:40Z
sender: drj@drj.test
recipient: pending user@drj.test
client-ip: 127.0.0.1
client-name:
helo: localhost
listener: capture
session: S1
mode: hold
attempts: 0
next-attempt:
size: 88
body: 7bit
smtputf8: no
end: 00661A2B3C4D5A3F9C
