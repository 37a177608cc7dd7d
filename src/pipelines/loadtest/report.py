"""The load test's result: Locust's totals in one JSON summary, and the threshold gate.

The gate judges Locust's own aggregated statistics (request and failure counts, response-time
percentiles, requests per second over the run) rather than re-measuring anything, so the summary and
Locust's HTML report agree. Percentiles include failed requests, as Locust counts them: a service that
fails fast does not look fast, because its error rate breaches first.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common.settings import LoadTestThresholds
from pipelines.loadtest.payloads import WARMING_UP

STATS_PREFIX = "locust"  # Locust writes locust_stats.csv, locust_failures.csv, locust_stats_history.csv, ...
TOTALS_FILE = "locust_totals.json"
SUMMARY_FILE = "summary.json"
SUMMARY_MARKDOWN = "summary.md"


@dataclass(frozen=True)
class Breach:
    threshold: str  # its key in thresholds.yaml `load_test`
    limit: float
    observed: float | None  # None: nothing was measured (no request completed)

    def describe(self) -> str:
        if self.observed is None:
            return f"{self.threshold}: nothing measured, no request completed (limit {self.limit:g})"
        if self.threshold.endswith("_min"):
            short = self.limit - self.observed
            return (
                f"{self.threshold}: {self.observed:.3f} is below the minimum {self.limit:g} "
                f"by {short:.3f} ({short / self.limit:.0%} short)"
            )
        over = self.observed - self.limit
        relative = f", {over / self.limit:.0%} over" if self.limit else ""
        observed = f"{self.observed:.4g}"
        return f"{self.threshold}: {observed} exceeds the maximum {self.limit:g} by {over:.4g}{relative}"


def read_totals(path: Path) -> dict[str, Any]:
    """The totals the Locust process wrote when the test stopped (`locustfile.totals`)."""
    if not path.is_file():
        raise FileNotFoundError(f"no load-test totals at {path}: did Locust run?")
    return json.loads(path.read_text(encoding="utf-8"))


def evaluate(stats: dict[str, Any], thresholds: LoadTestThresholds) -> list[Breach]:
    """Every threshold the run broke; a run with no completed request breaks all three."""
    breaches = []
    p95, error_rate = stats["latency_s"]["p95"], stats["error_rate"]
    if p95 is None or p95 > thresholds.p95_latency_s_max:
        breaches.append(Breach("p95_latency_s_max", thresholds.p95_latency_s_max, p95))
    if error_rate is None or error_rate > thresholds.error_rate_max:
        breaches.append(Breach("error_rate_max", thresholds.error_rate_max, error_rate))
    if not stats["requests"] or stats["requests_per_s"] < thresholds.requests_per_s_min:
        observed = stats["requests_per_s"] if stats["requests"] else None
        breaches.append(Breach("requests_per_s_min", thresholds.requests_per_s_min, observed))
    return breaches


def hints(failures: dict[str, int]) -> list[str]:
    """What a release engineer should know about the failures beyond their count."""
    warming = failures.get(WARMING_UP, 0)
    if warming:
        return [
            f"{warming} request(s) got 503: the service was scaled to zero or still warming up. "
            "Wake it and let a replica become ready before the run (see the README's smoke test)."
        ]
    return []


def markdown(summary: dict[str, Any]) -> str:
    """A short table for a CI job summary."""
    latency, limits = summary["latency_s"], summary["thresholds"]
    error_rate = "n/a" if summary["error_rate"] is None else f"{summary['error_rate']:.4f}"
    lines = [
        f"### Load test of `{summary['model']}` on {summary['host']}: "
        f"{'passed' if summary['passed'] else 'FAILED'}",
        "",
        f"Profile `{summary['profile']}`, {summary['requests']} requests, {summary['failures']} failures.",
        "",
        "| measure | observed | threshold |",
        "|---|---|---|",
        f"| p95 latency (s) | {latency['p95']} | <= {limits['p95_latency_s_max']} |",
        f"| error rate | {error_rate} | <= {limits['error_rate_max']} |",
        f"| requests/s | {summary['requests_per_s']} | >= {limits['requests_per_s_min']} |",
    ]
    lines += [f"- breach: {breach['message']}" for breach in summary["breaches"]]
    lines += [f"- {text}" for text in summary["hints"]]
    return "\n".join(lines) + "\n"


def write(summary: dict[str, Any], report_dir: Path) -> Path:
    path = report_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (report_dir / SUMMARY_MARKDOWN).write_text(markdown(summary), encoding="utf-8")
    return path


def breach_records(breaches: list[Breach]) -> list[dict[str, Any]]:
    return [asdict(b) | {"message": b.describe()} for b in breaches]
