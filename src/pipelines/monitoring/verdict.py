"""What a day's metrics mean: breaches of `thresholds.yaml monitoring`, by severity, and what follows.

Critical: faithfulness below its floor, toxic or personal-data answers above their (near zero) rates;
what a shopper would be hurt by. Warning: format failures above their rate, which cost summaries but
show nothing wrong; a warning breached `monitoring.warning_escalation_days` days running becomes
critical (the garbled-text incident: a warning nobody escalated for weeks). A metric the day could not
measure (no valid answers) is no breach here; in `aws` the missing CloudWatch datum breaches the alarm.

A critical breach is alerted and announced as the `summary_quality_breach` Asset event, which the
fine-tuning DAG is scheduled on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any, Literal

from common import storage
from common.settings import MonitoringThresholds, Settings

Severity = Literal["critical", "warning"]

# metric -> (threshold key, "min" or "max", severity)
RULES: dict[str, tuple[str, Literal["min", "max"], Severity]] = {
    "faithfulness": ("faithfulness_min", "min", "critical"),
    "toxicity_rate": ("toxicity_rate_max", "max", "critical"),
    "pii_rate": ("pii_rate_max", "max", "critical"),
    "format_failure_rate": ("format_failure_rate_max", "max", "warning"),
}
METRICS_FILE = "metrics.json"


@dataclass(frozen=True)
class Breach:
    metric: str
    value: float
    bound: float
    rule: Literal["min", "max"]
    severity: Severity
    days: int = 1  # days running (warnings)

    def describe(self) -> str:
        side = "below its floor" if self.rule == "min" else "above its ceiling"
        running = f", {self.days} days running" if self.days > 1 else ""
        return f"{self.metric} {self.value:.4g} is {side} {self.bound:g} ({self.severity}{running})"


def daily_uri(lake_uri: str, day: date) -> str:
    return storage.join(lake_uri, "monitoring", "daily", f"date={day.isoformat()}")


Rule = Literal["min", "max"]


def breached(metrics: Mapping[str, Any], bars: MonitoringThresholds) -> dict[str, tuple[float, float, Rule]]:
    """metric -> (value, bound, rule) for every rule the metrics break."""
    out: dict[str, tuple[float, float, Rule]] = {}
    for metric, (key, rule, _) in RULES.items():
        value, bound = metrics.get(metric), float(getattr(bars, key))
        if value is not None and (value < bound if rule == "min" else value > bound):
            out[metric] = (float(value), bound, rule)
    return out


def breaches(
    metrics: Mapping[str, Any],
    bars: MonitoringThresholds,
    earlier: Sequence[Mapping[str, Any] | None],
    escalation_days: int,
) -> list[Breach]:
    """The day's breaches; `earlier` holds the previous days' metrics, newest first (None: not run)."""
    out = []
    for metric, (value, bound, rule) in breached(metrics, bars).items():
        severity = RULES[metric][2]
        days = 1
        if severity == "warning":
            for previous in earlier:
                if previous is None or metric not in breached(previous, bars):
                    break
                days += 1
            if days >= escalation_days:
                severity = "critical"
        out.append(Breach(metric, value, bound, rule, severity, days))
    return out


def judge(settings: Settings, day: date, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The day's breaches against the bars and the days before it, written with the metrics to
    `<lake>/monitoring/daily/date=<day>/metrics.json` (where tomorrow's escalation looks)."""
    bars = settings.thresholds.monitoring
    if bars is None:
        raise ValueError("thresholds.yaml has no `monitoring` section: nothing to judge the day by")
    lake = settings.lake_uri
    escalation = settings.monitoring.warning_escalation_days
    earlier = []
    for back in range(1, escalation):
        uri = storage.join(daily_uri(lake, day - timedelta(days=back)), METRICS_FILE)
        earlier.append(storage.read_json(uri)["metrics"] if storage.exists(uri) else None)
    found = breaches(metrics, bars, earlier, escalation)
    verdict: dict[str, Any] = {
        "day": day.isoformat(),
        "metrics": dict(metrics),
        "breaches": [asdict(b) for b in found],
        "critical": [b.describe() for b in found if b.severity == "critical"],
        "warnings": [b.describe() for b in found if b.severity == "warning"],
        "metrics_uri": storage.join(daily_uri(lake, day), METRICS_FILE),
    }
    storage.replace_json(verdict["metrics_uri"], verdict)
    return verdict


def breach_evidence(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """What the alert and the Asset event carry: the day, what broke and where the numbers are; no
    summary text (alerts leave the platform)."""
    return {
        "event": "summary_quality_breach",
        "day": verdict["day"],
        "critical": list(verdict["critical"]),
        "warnings": list(verdict["warnings"]),
        "breaches": [b for b in verdict["breaches"] if b["severity"] == "critical"],
        "metrics_uri": verdict["metrics_uri"],
    }
