mxguard-queue: 1
helo: a\\b\t\x7F
end: x
