"""Airflow tasks for heavy steps: a deferrable SageMaker Processing job in `aws`, a subprocess in `local`.

Either way a step's exit code 3 (a failed data-quality gate) fails the task without retries, and other
failures are retried.

DAG files call `heavy_step(...)` and never see which one they got. Step arguments may be Jinja templates
(`{{ ti.xcom_pull(...) }}`): both operators render them before the step starts. Imports of the amazon
provider happen only when the `aws` profile builds a task, so a local parse stays light.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.sdk import BaseOperator

from common.dag_defaults import heavy_step_timeout, training_step_timeout
from common.settings import Settings, TrainingHyperparameters
from common.steps import (
    TASKS,
    StepCall,
    StepFailed,
    SubprocessStepRunner,
    TrainingCall,
    processing_job_name,
)


def run_local_step(module: str, args: dict[str, str], profile: str, environment: str = TASKS) -> None:
    """Task callable of the local profile; a non-retryable failure fails the task without retries."""
    from common.settings import get_settings

    runner = SubprocessStepRunner.from_settings(get_settings(profile), environment)
    try:
        runner.run(StepCall(module=module, args=args, environment=environment))
    except StepFailed as failure:
        _fail_fast_on(failure)
        raise


def _fail_fast_on(failure: StepFailed) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    if not failure.retryable:
        raise AirflowFailException(str(failure)) from failure


def run_local_training(call: dict[str, Any], profile: str) -> dict[str, str]:
    """Task callable of the local profile's training: the script with the SageMaker contract's folders."""
    from common.settings import get_settings
    from common.steps import run_local_training as run

    settings = get_settings(profile)
    runner = SubprocessStepRunner.from_settings(settings)
    try:
        return run(runner.python, TrainingCall(**call), runner.timeout_s, profile)
    except StepFailed as failure:
        _fail_fast_on(failure)
        raise


def heavy_step(
    task_id: str,
    module: str,
    args: dict[str, str],
    settings: Settings,
    environment: str = TASKS,
    **task_kwargs: Any,
) -> BaseOperator:
    """A task that runs `python -m <module>` with `args` in the profile's step runner, in the step
    environment named (the task image by default)."""
    task_kwargs.setdefault("execution_timeout", heavy_step_timeout(settings))
    if settings.steps.runner == "subprocess":
        from airflow.providers.standard.operators.python import PythonOperator

        return PythonOperator(
            task_id=task_id,
            python_callable=run_local_step,
            op_kwargs={
                "module": module,
                "args": args,
                "profile": settings.profile,
                "environment": environment,
            },
            **task_kwargs,
        )

    from common.processing_operator import StepProcessingOperator
    from common.steps import sagemaker_processing_config

    sagemaker = settings.steps.sagemaker
    if sagemaker is None:
        raise ValueError("the sagemaker step runner needs a `steps.sagemaker` section in the profile")
    job_name = processing_job_name(task_id)
    return StepProcessingOperator(
        task_id=task_id,
        config=sagemaker_processing_config(
            StepCall(module, args, environment), job_name, sagemaker, settings.profile
        ),
        aws_conn_id=sagemaker.aws_conn_id,
        wait_for_completion=True,
        deferrable=True,
        check_interval=sagemaker.check_interval_s,
        max_attempts=sagemaker.max_attempts,
        max_ingestion_time=sagemaker.max_runtime_s,
        action_if_job_exists="timestamp",
        **task_kwargs,
    )


def training_call(module: str, plan_task: str = "plan") -> TrainingCall:
    """The training run of a fine-tuning plan, every field a template of the `plan` task's result:
    the hyperparameters (profile defaults with the trigger form's overrides), the data and base-model
    channels, and where the model, the output data and the checkpoints go."""

    def field(*keys: str) -> str:
        path = "".join(f"['{key}']" for key in keys)
        return "{{ ti.xcom_pull(task_ids='" + plan_task + "')" + path + " }}"

    return TrainingCall(
        module=module,
        hyperparameters={key: field("hyperparameters", key) for key in TrainingHyperparameters.model_fields},
        channels={
            "training": field("train_channel"),
            "validation": field("validation_channel"),
            "base_model": field("base_model"),
        },
        model_uri=field("model_uri"),
        output_uri=field("output_uri"),
        checkpoint_uri=field("checkpoint_uri"),
    )


def training_step(task_id: str, module: str, settings: Settings, **task_kwargs: Any) -> BaseOperator:
    """The `train` task of a fine-tuning plan: a deferrable SageMaker training job in `aws` (GPU, spot,
    checkpoints in S3; a job failing on its data, exit code 3, is not retried), the same script in a local
    subprocess otherwise. Both return where the model is (`pipelines.training.plan.training_artifacts`
    reads either)."""
    from dataclasses import asdict

    task_kwargs.setdefault("execution_timeout", training_step_timeout(settings))
    call = training_call(module)
    if settings.steps.runner == "subprocess":
        from airflow.providers.standard.operators.python import PythonOperator

        return PythonOperator(
            task_id=task_id,
            python_callable=run_local_training,
            op_kwargs={"call": asdict(call), "profile": settings.profile},
            **task_kwargs,
        )

    from common.processing_operator import StepTrainingOperator
    from common.steps import sagemaker_training_config, training_job_name

    sagemaker = settings.training.sagemaker
    if sagemaker is None:
        raise ValueError("the aws profile needs a `training.sagemaker` section to run training jobs")
    return StepTrainingOperator(
        task_id=task_id,
        config=sagemaker_training_config(call, training_job_name(task_id), sagemaker, settings.profile),
        aws_conn_id=sagemaker.aws_conn_id,
        wait_for_completion=True,
        deferrable=True,
        print_log=False,  # the job's log is in CloudWatch; tailing it would keep the task off the triggerer
        check_interval=sagemaker.check_interval_s,
        max_attempts=sagemaker.max_attempts,
        max_ingestion_time=sagemaker.max_wait_s if sagemaker.use_spot else sagemaker.max_runtime_s,
        action_if_job_exists="fail",
        **task_kwargs,
    )


@contextmanager
def refused_requests_fail_fast() -> Iterator[None]:
    """Wraps a DAG's planning: a ValueError there is a request (trigger form, conf, event) that can never
    be honoured, so retrying it with backoff only delays the answer. The task fails at once, and the
    reason is the failure the user reads in the task's log."""
    from airflow.sdk.exceptions import AirflowFailException

    try:
        yield
    except ValueError as refused:
        raise AirflowFailException(f"the run cannot start: {refused}") from refused


def xcom_field(task_id: str, key: str) -> str:
    """A Jinja template for one field of a task's returned dict: how a heavy step's arguments name the
    URIs an upstream worker task decided (rendered by both operators before the step starts)."""
    return "{{ ti.xcom_pull(task_ids='" + task_id + "')['" + key + "'] }}"
