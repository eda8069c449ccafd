mxguard-queue: 1
id: 00661A2B3C4D5A3F9C
created: 2026-11-28T03:16:40Z
sender: <>
recipient: delivered done@x.test 250 2.0.0 Ok
recipient: failed gone@x.test 550 5.1.1 unknown
recipient: deferred a\x20b@y.test 2026-11-28T03:46:40Z 451 4.4.1 no\r\nanswer\x00
mode: deliver
attempts: 3
next-attempt: 2026-11-28T03:46:40Z
size: 1234
body: 8bitmime
smtputf8: yes
x-dsn-ret: hdrs
end: 00661A2B3C4D5A3F9C
