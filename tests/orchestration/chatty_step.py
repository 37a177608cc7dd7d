"""A step through the real entrypoint that logs the way the heavy steps' libraries do, then succeeds or
crashes the way it is told."""

from __future__ import annotations

import logging
from typing import Any

from common.step_entrypoint import run_step, step_parser

log = logging.getLogger(__name__)


def main() -> int:
    parser = step_parser("Library chatter, a warning of its own, then a result or a crash.")
    parser.add_argument("--mode", choices=["ok", "crash"], required=True)

    def body(args: Any) -> dict[str, Any]:
        logging.getLogger("presidio-analyzer").info("Loaded recognizer: EmailRecognizer")
        logging.getLogger("great_expectations.data_context.types.base").info("Created temporary directory")
        logging.getLogger("dvc").info("Collecting files and computing hashes")
        try:
            from tqdm import tqdm

            for _ in tqdm(range(3), desc="progress-bar"):
                pass
        except ImportError:
            pass
        log.warning("3 rows had no language")
        if args.mode == "crash":
            raise ValueError("the input partition has no rows")
        return {"rows": 3, "output_uri": "file:///lake/out", "partitions": ["a", "b"]}

    return run_step(body, parser)


if __name__ == "__main__":
    raise SystemExit(main())
