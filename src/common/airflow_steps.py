"""Airflow tasks for heavy steps: a deferrable SageMaker Processing job in `aws`, a subprocess in `local`.

DAG files call `heavy_step(...)` and never see which one they got. Step arguments may be Jinja templates
(`{{ ti.xcom_pull(...) }}`): both operators render them before the step starts. Imports of the amazon
provider happen only when the `aws` profile builds a task, so a local parse stays light.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from common.settings import Settings
from common.steps import StepCall, StepFailed, SubprocessStepRunner, processing_job_name


def run_local_step(module: str, args: dict[str, str], profile: str) -> None:
    """Task callable of the local profile; a non-retryable failure fails the task without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from common.settings import get_settings

    runner = SubprocessStepRunner.from_settings(get_settings(profile))
    try:
        runner.run(StepCall(module=module, args=args))
    except StepFailed as failure:
        if not failure.retryable:
            raise AirflowFailException(str(failure)) from failure
        raise


def heavy_step(
    task_id: str, module: str, args: dict[str, str], settings: Settings, **task_kwargs: Any
) -> BaseOperator:
    """A task that runs `python -m <module>` with `args` in the profile's step runner."""
    if settings.steps.runner == "subprocess":
        from airflow.providers.standard.operators.python import PythonOperator

        return PythonOperator(
            task_id=task_id,
            python_callable=run_local_step,
            op_kwargs={"module": module, "args": args, "profile": settings.profile},
            **task_kwargs,
        )

    from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator

    from common.steps import sagemaker_processing_config

    sagemaker = settings.steps.sagemaker
    if sagemaker is None:
        raise ValueError("the sagemaker step runner needs a `steps.sagemaker` section in the profile")
    job_name = processing_job_name(task_id)
    return SageMakerProcessingOperator(
        task_id=task_id,
        config=sagemaker_processing_config(StepCall(module, args), job_name, sagemaker, settings.profile),
        aws_conn_id=sagemaker.aws_conn_id,
        wait_for_completion=True,
        deferrable=True,
        check_interval=sagemaker.check_interval_s,
        max_attempts=sagemaker.max_attempts,
        max_ingestion_time=sagemaker.max_runtime_s,
        action_if_job_exists="timestamp",
        **task_kwargs,
    )


def xcom_field(task_id: str, key: str) -> str:
    """A Jinja template for one field of a task's returned dict: how a heavy step's arguments name the
    URIs an upstream worker task decided (rendered by both operators before the step starts)."""
    return "{{ ti.xcom_pull(task_ids='" + task_id + "')['" + key + "'] }}"
