"""What every DAG of the project shares: owner, retries with exponential backoff, the failure callback,
and an execution timeout on every task.

Kept in one place so the DAG-integrity tests can demand it of every DAG file, present and future.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from common.alerts import on_task_failure

if TYPE_CHECKING:
    from common.settings import Settings

OWNER = "llmops-data-platform"
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)


def default_args(settings: Settings | None = None, **overrides: Any) -> dict[str, Any]:
    """The tasks' defaults; `settings` defaults to the process's profile (what the DAG file reads too).

    A task stuck on a hung connection would otherwise hold its worker slot forever: every task gets
    `airflow.execution_timeout_s`, and heavy step tasks their longer limit from `heavy_step_timeout`."""
    if settings is None:
        from common.settings import get_settings

        settings = get_settings()
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": on_task_failure,
        "execution_timeout": timedelta(seconds=settings.airflow.execution_timeout_s),
    }
    args.update(overrides)
    return args


def heavy_step_timeout(settings: Settings) -> timedelta:
    """The execution timeout of a heavy step task: the runner's own limit plus a margin, so the runner
    (or SageMaker) stops the step first and the task fails with the step's reason, not Airflow's."""
    sagemaker = settings.steps.sagemaker
    runner_limit = (
        sagemaker.max_runtime_s
        if settings.steps.runner == "sagemaker" and sagemaker
        else settings.steps.timeout_s
    )
    return timedelta(seconds=runner_limit + settings.airflow.step_timeout_margin_s)


def training_step_timeout(settings: Settings) -> timedelta:
    """The execution timeout of a training task: the job's limit (with spot, the wait for capacity
    included) or the local runner's, plus the margin."""
    sagemaker = settings.training.sagemaker
    if settings.steps.runner == "sagemaker" and sagemaker:
        runner_limit = sagemaker.max_wait_s if sagemaker.use_spot else sagemaker.max_runtime_s
    else:
        runner_limit = settings.steps.timeout_s
    return timedelta(seconds=runner_limit + settings.airflow.step_timeout_margin_s)
