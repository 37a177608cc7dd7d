"""
### Review ingestion

Daily at 01:00 UTC: the reviews **created during the whole previous UTC day** are read from the source
database, cleaned, screened and validated, and published as a clean Parquet partition per day plus a
quarantine partition that gives every rejected review a reason. Count in = clean + quarantined, always.
Windows are whole days because a publish replaces each daily partition whole; the hour after midnight
leaves late writes time to land.

| task | what it does | runs on |
|---|---|---|
| `plan` | fixes the window and every URI of the run | worker |
| `extract` | streams the window's reviews to raw Parquet (parameterised SQL, bounded batches); skips the rest when the window is empty | worker |
| `transform` | HTML/script stripping, mojibake repair, structural checks, noise and duplicates, language, prompt-injection screen, PII redaction (presidio), toxicity (Detoxify) | heavy step |
| `validate` | Great Expectations suite; writes Data Docs; a failure stops the run before anything is published | heavy step |
| `publish` | versions the partitions with DVC and commits them atomically into the lake | heavy step |
| `announce` | emits the `reviews_clean` Asset event with the partition URIs and DVC version | worker |
| `cleanup` | teardown: removes the run's scratch (the raw extract with its unredacted text, the staged data) whether the run succeeded or failed; deletes raw extracts and quarantine partitions past their retention (local lake) | worker |

**Backfill**: trigger with *Backfill from* and *Backfill to* (dates, inclusive). Re-running a window
replaces its partitions; nothing is duplicated.

**Quarantine**: `<lake>/quarantine/reviews/dt=YYYY-MM-DD/` holds each rejected review's `reason` and
`detail`, its ids and source fields, and its text only as `redacted_text` (cleaned, PII-redacted, at most
`ingestion.max_clean_chars`; null when it was not readable text) and `raw_text_hmac` (HMAC-SHA256 of the
raw text under the quarantine key): never the raw text. To reprocess, find the source rows by
`review_id`, fix them and re-run the window; `python -m pipelines.ingestion.quarantine FILE` prints the
hash of a text, to tell whether a source row still holds the quarantined text. Quarantine partitions
expire after `ingestion.retention.quarantine_days`, raw extracts a run could not remove after `raw_days`;
quarantine is not versioned in DVC.

Heavy steps run as SageMaker Processing jobs in the `aws` profile and as subprocesses of the task
environment in `local`; the logic lives in `src/pipelines/ingestion/`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, refused_requests_fail_fast, xcom_field
from common.assets import clean_reviews
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()
CLEAN_REVIEWS = clean_reviews(settings)


def _plan(key: str) -> str:
    return xcom_field("plan", key)


with DAG(
    dag_id="review_ingestion",
    description="Extract, clean, screen, validate and publish the day's reviews.",
    schedule="0 1 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "ingestion", "data-quality"],
    params={
        "backfill_start": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Backfill from",
            description="First day (UTC) to re-ingest. Leave empty to ingest the day before the run.",
        ),
        "backfill_end": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Backfill to",
            description="Last day (UTC, inclusive) to re-ingest. Needed when Backfill from is set.",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any], run_id: str, data_interval_start=None, data_interval_end=None) -> dict:
        from pipelines.ingestion.plan import plan_run, resolve_window

        with refused_requests_fail_fast():
            start, end = resolve_window(
                data_interval_start,
                data_interval_end,
                params.get("backfill_start"),
                params.get("backfill_end"),
            )
        return plan_run(settings.lake_uri, run_id, start, end).to_dict()

    @task
    def extract(run_plan: dict) -> dict:
        from datetime import datetime

        from airflow.sdk.exceptions import AirflowSkipException

        from pipelines.ingestion.extract import extract_window

        result = extract_window(
            settings,
            datetime.fromisoformat(run_plan["window_start"]),
            datetime.fromisoformat(run_plan["window_end"]),
            run_plan["raw_uri"],
        )
        if result["extracted_count"] == 0:
            raise AirflowSkipException("no reviews were created in this window")
        return result

    transform = heavy_step(
        "transform",
        "pipelines.ingestion.transform",
        {
            "raw_uri": _plan("raw_uri"),
            "output_uri": _plan("staged_uri"),
            "result_uri": _plan("transform_result_uri"),
        },
        settings,
    )
    validate = heavy_step(
        "validate",
        "pipelines.ingestion.validate",
        {
            "staged_uri": _plan("staged_uri"),
            "transform_result_uri": _plan("transform_result_uri"),
            "data_docs_uri": _plan("data_docs_uri"),
            "result_uri": _plan("validation_result_uri"),
        },
        settings,
    )
    publish = heavy_step(
        "publish",
        "pipelines.ingestion.publish",
        {
            "staged_uri": _plan("staged_uri"),
            "validation_result_uri": _plan("validation_result_uri"),
            "transform_result_uri": _plan("transform_result_uri"),
            "lake_uri": _plan("lake_uri"),
            "run_id": "{{ run_id }}",
            "result_uri": _plan("publish_result_uri"),
        },
        settings,
    )

    @task(outlets=[CLEAN_REVIEWS])
    def announce(run_plan: dict, outlet_events=None) -> dict:
        from pipelines.ingestion.report import run_report

        report = run_report(run_plan)
        outlet_events[CLEAN_REVIEWS].extra = report["asset_extra"]
        return report["summary"]

    @task
    def cleanup(run_plan: dict) -> None:
        from pipelines.ingestion.report import remove_scratch
        from pipelines.ingestion.retention import expire_ingestion_data

        remove_scratch(run_plan)
        # Raw extracts a run could not remove and quarantine partitions past their retention (a local lake;
        # the S3 lake's lifecycle rules do the same with the same days).
        expire_ingestion_data(
            run_plan["lake_uri"],
            settings.ingestion.retention,
            by_lifecycle_rules=settings.lake.retention_by_lifecycle_rules,
        )

    run_plan = plan()
    announced = announce(run_plan)
    # A teardown of the plan: it runs once the run has ended, succeeded or failed (the raw extract holds
    # unredacted text), and its own outcome never decides the run's.
    removed = cleanup(run_plan).as_teardown(setups=run_plan)
    chain(run_plan, extract(run_plan), transform, validate, publish, announced, removed)
