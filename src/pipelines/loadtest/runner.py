"""Run the load test headless against one endpoint and gate the result on `thresholds.load_test`.

    python -m pipelines.loadtest --host URL --model NAME --report-dir DIR
        [--profile NAME] [--duration SECONDS] [--users N]

Only the endpoint given with --host is ever called. The run is Locust's own command line (headless, the
user class and traffic shape of `pipelines.loadtest.locustfile`) in a subprocess, so Locust's gevent
patching never reaches this process. The report folder gets Locust's CSV statistics, stats history and
HTML report, and beside them `run-spec.json` (what ran), `locust_totals.json` (Locust's final aggregated
numbers), `summary.json` (requests, failures, error rate, p50/p95/p99 latency, requests/s, failures by
message, breaches) and `summary.md`.

The bearer key is read from the environment variable `load_test.api_key_env` names (LOADTEST_API_KEY by
default), by the Locust process only; it is never an argument, and never written to the report.

Exit codes follow the steps' contract (`common.step_entrypoint`): 0 the thresholds hold, 1 the run itself
failed (Locust crashed, or the load test's own code raised), 2 bad arguments or configuration (a missing
or stale `load_test.payloads_file`: `python -m sample_source.payloads` writes it), 3 a threshold broke.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common.prompts import load_prompt
from common.settings import load_settings
from common.step_entrypoint import EXIT_CRASH, EXIT_OK, EXIT_QUALITY_GATE, EXIT_USAGE
from pipelines.loadtest import report
from pipelines.loadtest.payloads import snippet_corpus
from pipelines.loadtest.spec import RunSpec
from pipelines.loadtest.traffic import burst_users

# A breached threshold is the load test's quality gate.
EXIT_THRESHOLD_BREACHED = EXIT_QUALITY_GATE

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SPEC_FILE = "run-spec.json"
HTML_REPORT = "locust.html"
# Beyond the profile's duration: Locust's start-up, and users finishing the request in flight.
STARTUP_GRACE_S = 120

log = logging.getLogger("pipelines.loadtest")


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.loadtest",
        description="Load-test a served summarizer model with bursty, summarizer-shaped traffic and fail "
        "on breached thresholds (config/thresholds.yaml `load_test`).",
    )
    parser.add_argument("--host", required=True, help="base URL of the OpenAI-compatible endpoint")
    parser.add_argument("--model", required=True, help="the `model` of each request: a LoRA adapter name")
    parser.add_argument("--report-dir", required=True, type=Path, help="where the reports are written")
    parser.add_argument("--profile", help="traffic profile in config/pipeline.yaml `load_test.profiles`")
    parser.add_argument("--duration", type=float, help="seconds the run lasts (default: the profile's)")
    parser.add_argument("--users", type=int, help="steady concurrent users (default: the profile's)")
    return parser


def locust_command(spec_path: Path, host: str, report_dir: Path, stop_timeout_s: float) -> list[str]:
    """Locust headless with this package's user and shape; statistics and report into `report_dir`."""
    return [
        sys.executable, "-m", "locust",
        "--locustfile", str(LOCUSTFILE),
        "--headless",
        "--host", host,
        "--run-config", str(spec_path),
        "--totals-file", str(report_dir / report.TOTALS_FILE),
        "--csv", str(report_dir / report.STATS_PREFIX),
        "--html", str(report_dir / HTML_REPORT),
        "--only-summary",
        "--stop-timeout", str(math.ceil(stop_timeout_s)),
        # Failed requests are the gate's business, not Locust's: it exits 0 unless it crashed.
        "--exit-code-on-error", "0",
    ]  # fmt: skip


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    if settings.load_test is None or settings.thresholds.load_test is None:
        raise ValueError("config/pipeline.yaml and config/thresholds.yaml need their `load_test` sections")
    thresholds = settings.thresholds.load_test
    spec = RunSpec.resolve(settings.load_test, args.model, args.profile, args.duration, args.users)
    # Read here first: a missing or stale snippets file is a usage error now, not failed users later.
    snippet_corpus(spec.payloads_file, spec.seed, spec.corpus_products, spec.snippets[1])
    report_dir: Path = args.report_dir.resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    spec_path = report_dir / SPEC_FILE
    spec.write(spec_path)
    (report_dir / report.TOTALS_FILE).unlink(missing_ok=True)  # a reused folder never reports an old run
    if not os.environ.get(spec.api_key_env):
        log.warning("%s is not set: requests go without an Authorization header", spec.api_key_env)

    shape = spec.traffic
    log.info(
        "load test of %r on %s: profile %s, %g s (warm-up %g s), %d users, bursts of %d users for "
        "%g s every %g s",
        spec.model, args.host, spec.profile, shape.duration_s, shape.warmup_s, shape.users,
        burst_users(shape), shape.burst_s, shape.burst_every_s,
    )  # fmt: skip
    started = datetime.now(UTC)
    command = locust_command(spec_path, args.host, report_dir, spec.request_timeout_s)
    try:
        completed = subprocess.run(
            command, check=False, timeout=shape.duration_s + spec.request_timeout_s + STARTUP_GRACE_S
        )
    except subprocess.TimeoutExpired:
        log.error("Locust did not finish in time; the run is void")
        return EXIT_CRASH
    finished = datetime.now(UTC)
    if completed.returncode != 0:
        log.error("Locust exited with %d; the run is void", completed.returncode)
        return EXIT_CRASH

    stats = report.read_totals(report_dir / report.TOTALS_FILE)
    breaches = report.evaluate(stats, thresholds)
    summary: dict[str, Any] = {
        "host": args.host,
        "model": spec.model,
        "profile": spec.profile,
        "prompt": load_prompt().prompt_id,  # the prompt contract the requests were rendered with
        "traffic": shape.model_dump(),
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        **stats,
        "thresholds": thresholds.model_dump(),
        "breaches": report.breach_records(breaches),
        "hints": report.hints(stats["failures_by_error"]),
        "passed": not breaches and not stats["exceptions"],
    }
    path = report.write(summary, report_dir)
    print(report.markdown(summary), end="")
    print(f"summary: {path}")
    if stats["exceptions"]:
        for line in stats["exceptions"]:
            log.error("the load test's own code raised: %s", line)
        return EXIT_CRASH
    for breach in breaches:
        print(f"THRESHOLD BREACHED {breach.describe()}", file=sys.stderr)
    return EXIT_THRESHOLD_BREACHED if breaches else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    args = parser().parse_args(argv)  # exits with 2 on bad arguments
    if (args.duration is not None and args.duration <= 0) or (args.users is not None and args.users < 1):
        parser().error("--duration must be positive and --users at least 1")
    try:
        return run(args)
    except ValueError as error:  # an unknown profile, a config that does not validate, no snippets file
        log.error("%s", error)
        return EXIT_USAGE
