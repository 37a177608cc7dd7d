"""
### Summary batch inference (hourly)

Puts a grounded, safe summary of every product with new reviews into the summary cache the storefront
reads, within the hour, or records why not. Nothing selected is lost: a product leaves the queue only
summarized or failed for the last time (then alerted).

| task | what it does | runs on |
|---|---|---|
| `plan` | the run's key (the hour it covers; a manual run gets its own), its data time and where it writes | worker |
| `select` | moves the watermark over clean partitions published since it last looked (the lake's manifests, not the wall clock), owes their products a summary, adds the form's product list and summaries that forgetting a review invalidated, and takes what is due (retries after their backoff); nothing due: the run skips | worker |
| `summarize` | balanced contexts (one `msearch` per batch of products), snippets screened again for prompt injection, the `champion` answers through the shared serving client (the `challenger` too, in shadow, never served), guardrails (grounding, evidence, PII, toxicity), the conditional cache write, a lineage record per answer, the shadow report in MLflow | heavy step |
| `settle` | summarized products leave the queue; failed ones wait their backoff or, after `batch.max_attempts`, fail for good and alert; a failure record per product in the lake. If the endpoint never came up, every product stays pending and the run fails | worker |

Read a product's summary with `python -m pipelines.batch.lookup PRODUCT_ID`. Settings: `batch`,
`summary_cache` (config/pipeline.yaml and the profile); guardrail bars: `config/thresholds.yaml` `batch`.
Logic: `src/pipelines/batch/`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, refused_requests_fail_fast, xcom_field
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()


def _plan(key: str) -> str:
    return xcom_field("plan", key)


with DAG(
    dag_id="summary_batch_inference",
    description="Hourly: summaries of every product with new reviews into the cache, with lineage; failures retried.",
    schedule="0 * * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "inference", "batch"],
    params={
        "product_ids": Param(
            [],
            type="array",
            items={"type": "string", "minLength": 1},
            title="Products",
            description="Summarize these products now (every language they have reviews in), before anything "
            "else due; empty: what the hour owes.",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any], run_id: str, dag_run=None, data_interval_end=None) -> dict:
        from datetime import UTC, datetime

        from pipelines.batch.plan import plan_run

        manual = bool(dag_run is not None and str(getattr(dag_run, "run_type", "")).endswith("manual"))
        end = data_interval_end or datetime.now(UTC)
        with refused_requests_fail_fast():
            return plan_run(settings, run_id, end, manual, params)

    @task
    def select(run_plan: dict) -> dict:
        from datetime import UTC, datetime

        from airflow.sdk.exceptions import AirflowSkipException

        from pipelines.batch.plan import select_for_run

        with refused_requests_fail_fast():
            selected = select_for_run(settings, run_plan, datetime.now(UTC))
        if selected["selected"] == 0:
            raise AirflowSkipException(f"nothing to summarize: {selected}")
        return selected

    summarize = heavy_step(
        "summarize",
        "pipelines.batch.summarize",
        {"plan_uri": _plan("plan_uri"), "result_uri": _plan("summarize_result_uri")},
        settings,
    )

    @task
    def settle(run_plan: dict) -> dict:
        from datetime import UTC, datetime

        from pipelines.batch.plan import settle_run

        return settle_run(settings, run_plan, datetime.now(UTC))

    @task
    def cleanup(run_plan: dict) -> None:
        from pipelines.batch.plan import remove_scratch

        remove_scratch(run_plan)

    run_plan = plan()
    settled = settle(run_plan)
    chain(run_plan, select(run_plan), summarize, settled)
    # A teardown of the plan: it runs once the run has ended, succeeded, skipped or failed, and never
    # decides its state.
    settled >> cleanup(run_plan).as_teardown(setups=run_plan)
