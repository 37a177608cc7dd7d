"""
### Review forget (right to be forgotten)

Triggered by hand with the review IDs a deletion request names. The request is recorded first as a
**tombstone** in the lake (`<lake>/tombstones/reviews/`), which every reader of clean reviews honours
(the embedding DAG never indexes those reviews again); then their chunks are deleted from **every**
index of the vector store, including the ones kept for rollback, and the step checks none is left.

| task | what it does | runs on |
|---|---|---|
| `record` | validates the request and writes its tombstone (same request: same file) | worker |
| `delete` | deletes the reviews' chunks from every index and verifies the count is zero (in the `vector_store_writers` pool, one writer at a time) | heavy step |
| `invalidate_summaries` | deletes every cached summary that cites one of the reviews and asks the next `summary_batch_inference` run for new ones | worker |

Re-running a request is harmless: both steps are idempotent.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task

from common.airflow_steps import heavy_step, refused_requests_fail_fast, xcom_field
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()

with DAG(
    dag_id="review_forget",
    description="Delete reviews from the vector indexes and tombstone them for every lake reader.",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "embedding", "privacy"],
    params={
        "review_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            minItems=1,
            title="Review IDs",
            description="The reviews to forget, one ID per line.",
        ),
        "reason": Param(
            "",
            type="string",
            minLength=1,
            title="Reason",
            description="The ticket or legal basis of the request; recorded with the tombstone.",
        ),
    },
) as dag:

    @task
    def record(params: dict[str, Any], run_id: str) -> dict:
        from common.tombstones import record_tombstones

        with refused_requests_fail_fast():
            return record_tombstones(settings.lake_uri, params["review_ids"], params["reason"], run_id)

    delete = heavy_step(
        "delete",
        "pipelines.embedding.forget",
        {
            "tombstone_uri": xcom_field("record", "tombstone_uri"),
            "result_uri": xcom_field("record", "result_uri"),
        },
        settings,
        pool=settings.embedding.writers_pool,
    )

    @task
    def invalidate_summaries(recorded: dict, run_id: str) -> dict:
        from common.ids import stable_hash
        from common.summary_requests import invalidate_summaries as invalidate

        return invalidate(settings, recorded["review_ids"], f"forget-{stable_hash(run_id, length=16)}")

    recorded = record()
    chain(recorded, delete)
    # After the index forgot them: a summary made again in between would cite them no more.
    delete >> invalidate_summaries(recorded)
