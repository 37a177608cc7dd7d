"""A minimal step for the runner tests: records its argv and profile, or fails the way it is told."""

from __future__ import annotations

import os
import sys

from common.step_entrypoint import EXIT_CRASH, EXIT_QUALITY_GATE

if __name__ == "__main__":
    args = sys.argv[1:]
    mode = args[args.index("--mode") + 1]
    if mode == "crash":
        sys.exit(EXIT_CRASH)
    if mode == "gate":
        sys.exit(EXIT_QUALITY_GATE)
    out = args[args.index("--output-uri") + 1]
    with open(out, "w") as handle:
        handle.write("|".join([args[0], args[2], args[3], os.environ["LLMOPS_PROFILE"]]))
