#!/usr/bin/env python3
"""Runs a command and records its peak resident set size and wall time.

Usage: peak_rss.py OUT.json -- COMMAND [ARG...]

The command's output passes through; OUT.json gets {"argv", "returncode",
"max_rss_kib", "wall_seconds"}; the exit status is the command's. Standard
library only. Linux: ru_maxrss is in KiB there (macOS counts bytes).
"""

import json
import resource
import subprocess
import sys
import time


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit(__doc__.strip().splitlines()[2])
    out, cmd = argv[0], argv[2:]
    t0 = time.perf_counter()
    returncode = subprocess.run(cmd).returncode
    wall = time.perf_counter() - t0
    # The largest peak RSS among this process's waited-for children: the
    # command is the only child started here.
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(out, "w") as f:
        json.dump({"argv": cmd, "returncode": returncode, "max_rss_kib": kib,
                   "wall_seconds": wall}, f, indent=1)
        f.write("\n")
    sys.exit(returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
