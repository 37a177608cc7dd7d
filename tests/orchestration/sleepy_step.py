"""A step that outlives any short timeout, with a process of its own that does too: the runner must stop
both. `--ignore-term yes` makes both ignore SIGTERM, so only the SIGKILL after the grace ends them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

if __name__ == "__main__":
    args = sys.argv[1:]
    pid_file = args[args.index("--pid-file") + 1]
    if args[args.index("--ignore-term") + 1] == "yes":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by the grandchild across exec
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(pid_file, "w") as handle:
        handle.write(f"{grandchild.pid}\n")
    print("sleeping", flush=True)
    time.sleep(30)
