"""
### Review embedding

Runs whenever ingestion publishes clean reviews (the `reviews_clean` Asset): the new partitions are
chunked to the embedding model's input limit, embedded and written to the vector store; the index is
then evaluated, and the alias that readers query moves to it only if retrieval is good enough.

| task | what it does | runs on |
|---|---|---|
| `plan` | the partitions the triggering ingestion runs published (or chosen ones, all of them, or a DVC version) | worker |
| `embed` | token-aware chunking, embeddings (MiniLM locally, Bedrock Titan in aws), upsert by deterministic chunk id | heavy step |
| `gate` | nDCG@k, recall@k and MRR on labelled queries across all products, against the thresholds and the live index, logged to MLflow; deletes reviews forgotten meanwhile, then moves the alias; expires old indexes | heavy step |
| `announce` | emits the `review_vectors` Asset event with the live index and its metrics | worker |
| `cleanup` | teardown: removes the run's staged plan whether the run succeeded or failed; results stay for audit | worker |

**Incremental runs** copy the live index of the configured model into a new index and write the new
partitions there; readers see them only once the gate moves the alias. **Full rebuild**, a **dataset
version**, or a new embedding model build a new index from all the data; the alias moves after the
gate, and the previous index is kept for rollback. `embed`, `gate` and `review_forget`'s `delete` run
in the `vector_store_writers` pool (one slot, `embedding.writers_pool`): one writer at a time.

**Right to be forgotten**: use the `review_forget` DAG; reviews it names are never indexed again.

Logic: `src/pipelines/embedding/`; the store and retrieval: `src/common/vector_store/`, `src/common/retrieval.py`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, refused_requests_fail_fast, xcom_field
from common.assets import clean_reviews, review_vectors
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()
CLEAN_REVIEWS = clean_reviews(settings)
REVIEW_VECTORS = review_vectors(settings)


def _plan(key: str) -> str:
    return xcom_field("plan", key)


with DAG(
    dag_id="review_embedding",
    description="Chunk, embed and index clean reviews; move the index alias after a retrieval gate.",
    schedule=[CLEAN_REVIEWS],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "embedding", "retrieval"],
    params={
        "full_rebuild": Param(
            False,
            type="boolean",
            title="Full rebuild",
            description="Build a new index from every clean partition in the lake, then move the alias to it.",
        ),
        "partitions": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Partitions",
            description="Clean partition URIs to embed into the live index, as a reviews_clean event lists them "
            "(re-embed chosen days by hand). Ignored by a full rebuild.",
        ),
        "dataset_version": Param(
            None,
            type=["null", "string"],
            title="Dataset version",
            description="A DVC tag or commit of the clean data to build a new index from (pins the data exactly).",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any], run_id: str, logical_date=None, triggering_asset_events=None) -> dict:
        from datetime import UTC, datetime

        from pipelines.embedding.plan import plan_run, write_plan

        events = [
            event.extra or {}
            for asset_events in (triggering_asset_events or {}).values()
            for event in asset_events
        ]
        if params.get("partitions"):
            events.append({"partitions": params["partitions"]})
        when = (logical_date or datetime.now(UTC)).isoformat()
        with refused_requests_fail_fast():
            run_plan = plan_run(
                settings.lake_uri,
                run_id,
                when,
                events,
                bool(params.get("full_rebuild")),
                params.get("dataset_version"),
            )
        return write_plan(run_plan)

    embed = heavy_step(
        "embed",
        "pipelines.embedding.embed",
        {"plan_uri": _plan("plan_uri"), "result_uri": _plan("embed_result_uri")},
        settings,
        pool=settings.embedding.writers_pool,
    )
    gate = heavy_step(
        "gate",
        "pipelines.embedding.gate",
        {"embed_result_uri": _plan("embed_result_uri"), "result_uri": _plan("gate_result_uri")},
        settings,
        pool=settings.embedding.writers_pool,
    )

    @task(outlets=[REVIEW_VECTORS])
    def announce(run_plan: dict, outlet_events=None) -> dict:
        from pipelines.embedding.report import run_report

        report = run_report(run_plan)
        outlet_events[REVIEW_VECTORS].extra = report
        return report

    @task
    def cleanup(run_plan: dict) -> None:
        from pipelines.embedding.plan import remove_scratch

        remove_scratch(run_plan)

    run_plan = plan()
    # A teardown of the plan: it runs once the run has ended, succeeded or failed, and never decides its state.
    chain(run_plan, embed, gate, announce(run_plan), cleanup(run_plan).as_teardown(setups=run_plan))
