"""The contract every heavy step's `main()` keeps, wherever it runs.

A step is `python -m <module> --<name> <uri> ...`. It reads its inputs from URIs, writes its outputs to
URIs, and writes a small JSON result (counts, output URIs, versions) to `<result-uri>`, which the DAG
reads afterwards: the same on SageMaker Processing and in a local subprocess. Exit codes carry meaning
that both runners preserve:

- 0: success;
- 1: the step crashed (a bug or an infrastructure fault; retrying may help);
- 2: the arguments were wrong (argparse's own code; retrying will not help);
- 3: a data-quality gate failed (the data is the problem; retrying will not help, fix the data).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from common import storage

EXIT_OK = 0
EXIT_CRASH = 1
EXIT_USAGE = 2
EXIT_QUALITY_GATE = 3

RESULT_ARG = "--result-uri"

log = logging.getLogger(__name__)


class QualityGateFailed(Exception):
    """The data failed a gate; the step's result is still written, with the failing numbers."""

    def __init__(self, message: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.result = result or {}


def step_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser that already knows `--result-uri`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(RESULT_ARG, dest="result_uri", required=True, help="where to write the result JSON")
    return parser


def run_step(
    body: Callable[[argparse.Namespace], dict[str, Any]],
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
) -> int:
    """Parse arguments, run the step body and write its result; return the exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = parser.parse_args(argv)  # exits with 2 on bad arguments
    try:
        result = body(args)
    except QualityGateFailed as failure:
        storage.write_json(
            args.result_uri, {"status": "quality_gate_failed", "error": str(failure), **failure.result}
        )
        log.error("quality gate failed: %s", failure)
        return EXIT_QUALITY_GATE
    except Exception as error:
        log.exception("step failed")
        try:
            storage.write_json(args.result_uri, {"status": "failed", "error": repr(error)})
        except Exception:  # the result store itself may be what failed
            log.exception("could not write the failure result")
        return EXIT_CRASH
    storage.write_json(args.result_uri, {"status": "succeeded", **result})
    return EXIT_OK
