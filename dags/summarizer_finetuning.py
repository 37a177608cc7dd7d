"""
### Summarizer fine-tuning

Builds a trustworthy training set, fine-tunes a LoRA adapter of the summarizer and registers it in
MLflow as a `candidate`. Runs on the 1st of every month at 03:00 UTC, by hand, and whenever quality
monitoring reports a breach (the `summary_quality_breach` Asset).

| task | what it does | runs on |
|---|---|---|
| `plan` | pins the run's inputs: dataset versions, base model, hyperparameters (profile defaults + this form) | worker |
| `golden` | the golden evaluation set: built and versioned with DVC, or the pinned version fetched | heavy step |
| `dataset` | SFT examples (balanced review context -> reference summary), decontaminated against the golden set, stratified, split by product, validated with Great Expectations, versioned with DVC | heavy step |
| `train` | LoRA with peft + trl `SFTTrainer`, loss on the answer only; a SageMaker training job (GPU, spot, checkpoints in S3) in aws, the same script on CPU locally | training job |
| `artifacts` | where the adapter and the metrics landed | worker |
| `register` | one MLflow run (parameters, per-step losses, lineage, sample summaries) and a registered model version with alias `candidate` | heavy step |
| `announce` | emits the `summarizer_candidate` Asset event with the model URI and its lineage | worker |
| `cleanup` | teardown: removes the run's staged data (plan, golden set and SFT split copies, all versioned in DVC) whether the run succeeded or failed; the model's artifacts stay | worker |

**Pinning data**: *Dataset version* trains on an existing SFT dataset (a DVC tag) instead of building
one; *Golden set version* decontaminates against a given golden set. Every version used is recorded on
the MLflow run and the model version.

Logic: `src/pipelines/training/`; the prompt contract: `prompts/summarize_reviews.yaml` via `src/common/prompts.py`.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Param, chain, task
from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

from common.airflow_steps import heavy_step, refused_requests_fail_fast, training_step, xcom_field
from common.assets import summarizer_candidate, summary_quality_breach
from common.dag_defaults import START_DATE, default_args
from common.settings import get_settings

settings = get_settings()
QUALITY_BREACH = summary_quality_breach(settings)
CANDIDATE = summarizer_candidate(settings)
DEFAULTS = settings.training.hyperparameters


def _plan(key: str) -> str:
    return xcom_field("plan", key)


with DAG(
    dag_id="summarizer_finetuning",
    description="Build the SFT dataset, fine-tune a LoRA adapter and register it as an MLflow candidate.",
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("0 3 1 * *", timezone="UTC"), assets=[QUALITY_BREACH]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    doc_md=__doc__,
    tags=["llmops", "training", "lora"],
    params={
        "base_model": Param(
            None,
            type=["null", "string"],
            title="Base model",
            description="Folder or s3:// prefix of the base model to adapt; empty: the profile's "
            f"({settings.training.base_model_id}).",
        ),
        "dataset_version": Param(
            None,
            type=["null", "string"],
            title="Dataset version",
            description="A DVC tag of an existing SFT dataset to train on; empty: build a new one.",
        ),
        "golden_version": Param(
            None,
            type=["null", "string"],
            title="Golden set version",
            description="A DVC tag of the golden evaluation set to decontaminate against; empty: build it "
            "(the same data gives the same version).",
        ),
        "lora_rank": Param(
            DEFAULTS.lora_rank, type="integer", minimum=1, title="LoRA rank", description="r of the adapter."
        ),
        "lora_alpha": Param(
            DEFAULTS.lora_alpha,
            type="integer",
            minimum=1,
            title="LoRA alpha",
            description="Scaling of the adapter's update (alpha / rank).",
        ),
        "lora_dropout": Param(
            DEFAULTS.lora_dropout,
            type="number",
            minimum=0,
            maximum=0.9,
            title="LoRA dropout",
            description="Dropout on the adapter's input.",
        ),
        "lora_target_modules": Param(
            DEFAULTS.lora_target_modules,
            type="array",
            items={"type": "string"},
            title="Target modules",
            description="Module names the adapter wraps (attention and MLP projections).",
        ),
        "learning_rate": Param(
            DEFAULTS.learning_rate,
            type="number",
            exclusiveMinimum=0,
            title="Learning rate",
            description="Peak learning rate of the schedule.",
        ),
        "num_train_epochs": Param(
            DEFAULTS.num_train_epochs,
            type="number",
            exclusiveMinimum=0,
            title="Epochs",
            description="Passes over the training set (ignored when max steps > 0).",
        ),
        "max_steps": Param(
            DEFAULTS.max_steps,
            type="integer",
            title="Max steps",
            description="Optimizer steps; > 0 overrides the epochs, -1 trains for the epochs.",
        ),
    },
) as dag:

    @task
    def plan(params: dict[str, Any], run_id: str, logical_date=None) -> dict:
        from datetime import UTC, datetime

        from pipelines.training.plan import plan_run, write_plan

        when = (logical_date or datetime.now(UTC)).isoformat()
        with refused_requests_fail_fast():
            run_plan = plan_run(settings, run_id, when, params)
        return write_plan(run_plan)

    golden = heavy_step(
        "golden",
        "pipelines.training.golden",
        {"plan_uri": _plan("plan_uri"), "result_uri": _plan("golden_result_uri")},
        settings,
    )
    dataset = heavy_step(
        "dataset",
        "pipelines.training.dataset",
        {"plan_uri": _plan("plan_uri"), "result_uri": _plan("dataset_result_uri")},
        settings,
    )
    train = training_step("train", "pipelines.training.train", settings)

    @task
    def artifacts(train_result: dict) -> dict:
        from pipelines.training.plan import training_artifacts

        return training_artifacts(train_result)

    register = heavy_step(
        "register",
        "pipelines.training.register",
        {
            "plan_uri": _plan("plan_uri"),
            "model_uri": xcom_field("artifacts", "model_uri"),
            "metrics_uri": xcom_field("artifacts", "output_uri"),
            "result_uri": _plan("register_result_uri"),
        },
        settings,
    )

    @task(outlets=[CANDIDATE])
    def announce(run_plan: dict, outlet_events=None) -> dict:
        from pipelines.training.report import run_report

        report = run_report(run_plan)
        outlet_events[CANDIDATE].extra = report
        return report

    @task
    def cleanup(run_plan: dict) -> None:
        from pipelines.training.plan import remove_scratch

        remove_scratch(run_plan)

    run_plan = plan()
    trained = artifacts(train.output)
    # A teardown of the plan: it runs once the run has ended, succeeded or failed, and never decides its state.
    removed = cleanup(run_plan).as_teardown(setups=run_plan)
    chain(run_plan, golden, dataset, train, trained, register, announce(run_plan), removed)
