"""
### Summarizer rollback

Puts the previous champion back, by hand, when the current one misbehaves in production (a monitoring
alarm, shoppers' complaints). `champion` moves back to the version `previous` points to, `previous` is
removed (the audit trail keeps every earlier champion), the champion's adapter is re-exported to the
serving location, and an append-only audit record names who rolled back, when and why.

| task | what it does | runs on |
|---|---|---|
| `rollback` | the alias moves, the export and the audit record (`pipelines.evaluation.promotion`) | heavy step |

A rollback with no `previous` (the first champion ever) fails with that reason and moves nothing. In
`aws` the vLLM pods load the restored adapter when they next start: restart the deployment (the
Terraform-managed `vllm` one) to serve it at once.
"""

from __future__ import annotations

from airflow.sdk import DAG, Param

from common import storage
from common.airflow_steps import heavy_step
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()

with DAG(
    dag_id="summarizer_rollback",
    description="Move the summarizer's champion back to the previous version, with a reason, audited.",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "promotion", "rollback"],
    params={
        "reason": Param(
            "",
            type="string",
            minLength=3,
            title="Reason",
            description="Why the champion is rolled back (kept in the audit record and on the model version).",
        ),
    },
) as dag:
    heavy_step(
        "rollback",
        "pipelines.evaluation.promotion",
        {
            "action": "rollback",
            "actor": "{{ 'user:' ~ (dag_run.triggering_user_name or 'unknown') }}",
            "reason": "{{ params.reason }}",
            "result_uri": storage.join(
                settings.lake_uri, "evaluation", "rollbacks", "{{ run_id | replace(':', '_') }}.json"
            ),
        },
        settings,
    )
