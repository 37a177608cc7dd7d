"""Where a day's verdict goes: an MLflow run (analysts), CloudWatch (the alarms, `aws`), and on a
critical breach an alert and the evidence the `summary_quality_breach` Asset event carries.

CloudWatch gets each daily metric once with only the `Environment` dimension (the series Terraform's
alarms read, `terraform/modules/observability`), and again per language and per model version (for a
person drilling down). The metric names are Terraform's `local.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from common.settings import Settings
from common.tracking import experiment_id, mlflow_for

log = logging.getLogger(__name__)

CLOUDWATCH_METRICS = {
    "faithfulness": "SummaryFaithfulness",
    "toxicity_rate": "SummaryToxicityRate",
    "pii_rate": "SummaryPiiRate",
    "format_failure_rate": "SummaryFormatFailureRate",
}
SLICE_DIMENSIONS = {"by_language": "Language", "by_model_version": "ModelVersion"}
_COUNTS = (
    "records",
    "responses",
    "format_failures",
    "guardrail_rejections",
    "sampled",
    "scored",
    "unscorable",
)


def metric_data(verdict: Mapping[str, Any], environment: str) -> list[dict[str, Any]]:
    """PutMetricData entries for the day: overall (the alarms' series), then per slice."""
    timestamp = datetime.fromisoformat(verdict["day"]).replace(hour=12, tzinfo=UTC)

    def entries(values: Mapping[str, Any], dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
        return [
            {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Value": float(values[metric]),
                "Unit": "None",
            }
            for metric, name in CLOUDWATCH_METRICS.items()
            if values.get(metric) is not None
        ]

    base = [{"Name": "Environment", "Value": environment}]
    metrics = verdict["metrics"]
    out = entries(metrics, base)
    for slice_name, dimension in SLICE_DIMENSIONS.items():
        for value, part in metrics.get(slice_name, {}).items():
            out += entries(part, [*base, {"Name": dimension, "Value": value}])
    return out


def to_cloudwatch(settings: Settings, verdict: Mapping[str, Any], client: Any | None = None) -> int:
    """Publish the day's metrics (aws: `monitoring.cloudwatch_namespace`); returns the data sent."""
    namespace = settings.monitoring.cloudwatch_namespace
    if not namespace:
        return 0
    if client is None:
        import boto3

        client = boto3.client("cloudwatch")
    data = metric_data(verdict, settings.monitoring.environment)
    for start in range(0, len(data), 500):  # PutMetricData takes up to 1,000 entries; stay well inside
        client.put_metric_data(Namespace=namespace, MetricData=data[start : start + 500])
    return len(data)


def to_mlflow(settings: Settings, verdict: Mapping[str, Any], scores_uri: str) -> str:
    """One run per day in `<prefix>/monitoring`: the metrics overall and per slice, the breaches as tags."""
    mlflow = mlflow_for(settings)
    metrics = verdict["metrics"]
    names = (*CLOUDWATCH_METRICS, "evidence_validity", "balance", *_COUNTS)
    values = {k: float(metrics[k]) for k in names if metrics.get(k) is not None}
    for slice_name, dimension in SLICE_DIMENSIONS.items():
        for value, part in metrics.get(slice_name, {}).items():
            for metric in CLOUDWATCH_METRICS:
                if part.get(metric) is not None:
                    values[f"{metric}.{dimension.lower()}.{value}"] = float(part[metric])
    with mlflow.start_run(
        experiment_id=experiment_id(settings, "monitoring"), run_name=f"quality-{verdict['day']}"
    ) as run:
        mlflow.set_tags(
            {
                "llmops.monitoring.day": verdict["day"],
                "llmops.monitoring.critical": "; ".join(verdict["critical"]) or "none",
                "llmops.monitoring.warnings": "; ".join(verdict["warnings"]) or "none",
                "llmops.monitoring.scores_uri": scores_uri,
                "llmops.monitoring.metrics_uri": verdict["metrics_uri"],
            }
        )
        mlflow.log_metrics(values)
        mlflow.log_dict(dict(verdict), "verdict.json")
        return str(run.info.run_id)
