"""
### Summary quality monitoring (daily, 03:00 UTC)

Watches what the hourly batch's model writes, the day after: every answer of the day counted, a
stratified sample scored by the scorers evaluation gates with, the verdict against
`config/thresholds.yaml` `monitoring`, the same values Terraform's CloudWatch alarms read.

| task | what it does | runs on |
|---|---|---|
| `pick_day` | the day (the form's, or the day before the run) and where its results go | worker |
| `score` | the day's lineage records counted (format failures, guardrail rejections); a sample per language and context profile scored: faithfulness (grounding), evidence validity, balance, toxicity, PII; breaches by severity (a warning that persists for `monitoring.warning_escalation_days` days is critical); the day's run in MLflow | heavy step |
| `publish` | the day's metrics to CloudWatch in `aws` (the series Terraform's alarms read) | worker |
| `act` | on a critical breach: an alert and the `summary_quality_breach` Asset event with its evidence, which starts fine-tuning; otherwise skipped | worker |

Results: `<lake>/monitoring/daily/date=<day>/` (`metrics.json`, `scores.parquet`) and the MLflow
experiment `<prefix>/monitoring`. Settings: `monitoring` (config/pipeline.yaml). Logic:
`src/pipelines/monitoring/`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, xcom_field
from common.assets import summary_quality_breach
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()
QUALITY_BREACH = summary_quality_breach(settings)

with DAG(
    dag_id="summary_quality_monitoring",
    description="Daily: the day's summaries counted and scored; breaches alerted and sent to fine-tuning.",
    schedule="0 3 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "monitoring", "quality"],
    params={
        "day": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Day",
            description="The day (UTC, YYYY-MM-DD) whose summaries to monitor; empty: the day before the run.",
        ),
    },
) as dag:

    @task
    def pick_day(params: dict[str, Any], logical_date=None) -> dict:
        from datetime import UTC, date, datetime, timedelta

        from common import storage
        from pipelines.monitoring.verdict import daily_uri

        when = logical_date or datetime.now(UTC)
        day = date.fromisoformat(params["day"]) if params.get("day") else (when - timedelta(days=1)).date()
        output = daily_uri(settings.lake_uri, day)
        return {
            "day": day.isoformat(),
            "output_uri": output,
            "result_uri": storage.join(output, "score.json"),
        }

    score = heavy_step(
        "score",
        "pipelines.monitoring.score",
        {
            "day": xcom_field("pick_day", "day"),
            "output_uri": xcom_field("pick_day", "output_uri"),
            "result_uri": xcom_field("pick_day", "result_uri"),
        },
        settings,
    )

    @task
    def publish(day_plan: dict) -> dict:
        from common import storage
        from pipelines.monitoring.publish import to_cloudwatch

        verdict = storage.read_json(day_plan["result_uri"])
        sent = to_cloudwatch(settings, verdict)
        return {
            "day": verdict["day"],
            "critical": verdict["critical"],
            "warnings": verdict["warnings"],
            "breaches": verdict["breaches"],
            "metrics_uri": verdict["metrics_uri"],
            "mlflow_run_id": verdict["mlflow_run_id"],
            "cloudwatch_data": sent,
        }

    @task(outlets=[QUALITY_BREACH])
    def act(verdict: dict, outlet_events=None) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from common.alerts import send_alert
        from pipelines.monitoring.verdict import breach_evidence

        if not verdict["critical"]:
            raise AirflowSkipException(
                f"no critical breach on {verdict['day']}: {verdict['warnings'] or 'none'}"
            )
        evidence = breach_evidence(verdict)
        send_alert(
            {**evidence, "dag_id": "summary_quality_monitoring", "task_id": "act"},
            settings,
        )
        outlet_events[QUALITY_BREACH].extra = evidence
        return evidence

    day_plan = pick_day()
    verdict = publish(day_plan)
    chain(day_plan, score, verdict, act(verdict))
