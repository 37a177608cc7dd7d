"""The `load_test` heavy step of a promotion: the project's load test against the challenger's adapter.

    python -m pipelines.evaluation.load_gate --alias challenger --report-uri URI --result-uri URI
        [--profile NAME] [--duration SECONDS]

The load test itself is `python -m pipelines.loadtest` (Locust, bursty summarizer-shaped traffic, the
`thresholds.yaml load_test` gate), run here as a command so the same test a release engineer runs by hand
decides the promotion. What this step adds is the endpoint: locally a vLLM server started here on
loopback with the alias's exported adapter (`common.serving.adapters`), in `aws` the serving endpoint
(staging) with its bearer key passed to the load test's environment variable, never as an argument.

Exit codes follow the load test's: a breached threshold fails the step with exit code 3 (the promotion
stops there, the challenger keeps its alias), a run that could not happen with 1. The report folder (Locust's
CSV and HTML, `summary.json`, `summary.md`) is copied to `--report-uri` either way; the result carries the
summary's numbers, which the promotion's audit record cites; the model card of the version gets a
load-test section with the cost per 1,000 summaries (`serving.gpu_hour_price_usd` over the summaries an
hour the load test sustained), whether the test passed or not.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import storage
from common.serving.client import endpoint_from_settings
from common.settings import Settings, get_settings
from common.step_entrypoint import EXIT_QUALITY_GATE, QualityGateFailed, run_step, step_parser
from pipelines.evaluation.card import cost_per_thousand, load_test_section

log = logging.getLogger(__name__)

SUMMARY_FILE = "summary.json"  # what `pipelines.loadtest` writes into its report folder


def load_test_command(
    host: str, alias: str, report_dir: Path, profile: str | None, duration: float | None
) -> list[str]:
    command = [sys.executable, "-m", "pipelines.loadtest", "--host", host, "--model", alias]
    command += ["--report-dir", str(report_dir)]
    if profile:
        command += ["--profile", profile]
    if duration:
        command += ["--duration", str(duration)]
    return command


def _run_load_test(command: list[str], api_key: str | None, settings: Settings) -> int:
    env = dict(os.environ)
    if api_key and settings.load_test is not None:
        env[settings.load_test.api_key_env] = api_key
    log.info("load test: %s", " ".join(command))
    return subprocess.run(command, env=env, check=False).returncode


def run(
    settings: Settings, alias: str, report_uri: str, profile: str | None, duration: float | None, work: Path
) -> dict[str, Any]:
    """Serve `alias` (locally) or reach the endpoint (aws), load-test it, copy the report out."""
    report_dir = work / "report"
    local = settings.serving.local is not None and storage.is_local(settings.serving.adapters_uri)
    if local:
        from common.serving.adapters import export_alias
        from common.serving.local_server import LocalVllmServer

        exported = export_alias(settings, alias)
        if exported is None:
            raise ValueError(f"{settings.registry.model_name}@{alias} does not exist: nothing to load-test")
        with LocalVllmServer(settings, {alias: exported.local_path}, port=0) as server:
            code = _run_load_test(
                load_test_command(server.url, alias, report_dir, profile, duration), None, settings
            )
    else:
        url, api_key = endpoint_from_settings(settings)
        code = _run_load_test(load_test_command(url, alias, report_dir, profile, duration), api_key, settings)

    if report_dir.is_dir():
        storage.upload_dir(str(report_dir), report_uri)
    summary_path = report_dir / SUMMARY_FILE
    if code not in (0, EXIT_QUALITY_GATE) or not summary_path.is_file():
        raise RuntimeError(f"the load test of {alias} did not run to its end (exit code {code})")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    result = {
        "alias": alias,
        "report_uri": report_uri,
        "summary_uri": storage.join(report_uri, SUMMARY_FILE),
        "passed": bool(summary["passed"]),
        **{
            key: summary.get(key)
            for key in ("profile", "requests", "failures", "error_rate", "requests_per_s")
        },
        "p95_latency_s": (summary.get("latency_s") or {}).get("p95"),
        "breaches": summary.get("breaches", []),
    }
    result["gpu_hour_price_usd"] = settings.serving.gpu_hour_price_usd
    result["cost_per_1000_summaries_usd"] = cost_per_thousand(
        result["requests_per_s"], settings.serving.gpu_hour_price_usd
    )
    add_to_card(settings, alias, load_test_section(result, settings.serving.gpu_hour_price_usd, local))
    if code == EXIT_QUALITY_GATE or not summary["passed"]:
        raise QualityGateFailed(f"the load test of {alias} breached its thresholds", result)
    return result


def add_to_card(settings: Settings, alias: str, section: str) -> None:
    """Put `section` at the end of the model card of the version `alias` names (its registry description),
    in place of the one an earlier try of this step wrote: a retried load test is one section, not two."""
    from mlflow import MlflowClient

    from common.tracking import mlflow_for

    mlflow_for(settings)  # points MLflow at the profile's tracking server
    client = MlflowClient()
    version = client.get_model_version_by_alias(settings.registry.model_name, alias)
    card = (version.description or "").split(section.split("\n", 1)[0])[0].rstrip("\n")
    client.update_model_version(version.name, version.version, description=f"{card}\n\n{section}".lstrip())
    log.info("model card of %s version %s: load-test section added", version.name, version.version)


def parser() -> argparse.ArgumentParser:
    p = step_parser("Load-test a registry alias's adapter before it is promoted (thresholds.yaml load_test).")
    p.add_argument("--alias", required=True, help="the registry alias to load-test (the challenger)")
    p.add_argument("--report-uri", required=True, help="where the load test's report folder is copied")
    p.add_argument("--profile", help="traffic profile of config/pipeline.yaml load_test.profiles")
    p.add_argument("--duration", type=float, help="seconds the run lasts (default: the profile's)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    def body(args: argparse.Namespace) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="evaluation-load-test-") as tmp:
            return run(get_settings(), args.alias, args.report_uri, args.profile, args.duration, Path(tmp))

    return run_step(body, parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
