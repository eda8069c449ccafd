mxguard-queue: 1
id: 00661A2B3C4D5A3F9C
created: 2026-11-28T03:16:40Z
sender: drj@drj.test
recipient: pending user@drj.test
mode: hold
size: 88
