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

# Libraries whose INFO lines are chatter in a step's log (every recognizer presidio loads, every HTTP request,
# DVC's and GX's progress): only their warnings and errors reach it. Progress bars are switched off by the
# runners (`TQDM_DISABLE`, `HF_HUB_DISABLE_PROGRESS_BARS`), since they are set up when a library is imported.
QUIET_LOGGERS = (
    "presidio-analyzer",
    "presidio-anonymizer",
    "great_expectations",
    "dvc",
    "dvc_data",
    "dvc_objects",
    "scmrepo",
    "urllib3",
    "botocore",
    "boto3",
    "s3transfer",
    "aiobotocore",
    "s3fs",
    "fsspec",
    "filelock",
    "sentence_transformers",
    "transformers",
    "huggingface_hub",
    "opensearch",
    "httpx",
)

log = logging.getLogger(__name__)


class _QuietLibraries(logging.Filter):
    """Drops records below WARNING from `QUIET_LOGGERS` and their children. A filter on the step's own
    handler rather than logger levels, which a library may set again on its own loggers when imported."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not any(record.name == name or record.name.startswith(name + ".") for name in QUIET_LOGGERS)


def configure_logging() -> None:
    """One format the runners parse (`%(asctime)s %(levelname)s %(name)s: %(message)s`) on stderr, with
    library chatter filtered out. Leaves logging alone when something (a test) has set it up already."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_QuietLibraries())
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def summary(result: dict[str, Any]) -> str:
    """A step's result in one line: scalars as they are, collections by their size."""
    parts = []
    for key, value in result.items():
        if isinstance(value, dict | list | tuple | set):
            parts.append(f"{key}=<{len(value)} item(s)>")
        elif isinstance(value, str) and len(value) > 120:
            parts.append(f"{key}={value[:117]}...")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts) or "no result fields"


def _step_name(body: Callable[..., Any], parser: argparse.ArgumentParser) -> str:
    """The step module's last name (`forget`), also when it runs as `__main__`."""
    module = getattr(body, "__module__", None) or ""
    if module in ("", "__main__"):
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        module = getattr(spec, "name", None) or parser.prog
    return module.rsplit(".", 1)[-1]


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
    configure_logging()
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
    log.info("%s finished: %s", _step_name(body, parser), summary(result))
    return EXIT_OK
