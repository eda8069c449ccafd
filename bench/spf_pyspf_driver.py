#!/usr/bin/python3
"""spf_pyspf_driver.py: pyspf (python3-spf) side of bench/spf_side_by_side.sh.
Reads "IP SENDER HELO" lines from argv[1] and prints one RFC 7208 result token per
line, in order, using spf.check2 (pyspf resolves through /etc/resolv.conf)."""
import sys

import spf

with open(sys.argv[1]) as f:
    for line in f:
        parts = line.split()
        if len(parts) < 2:
            continue
        helo = parts[2] if len(parts) > 2 else ""
        try:
            res, _expl = spf.check2(i=parts[0], s=parts[1], h=helo)
        except Exception as e:  # report, never stop the run
            res = "exception:" + type(e).__name__
        print(res)
