"""The SageMaker operators of heavy steps and training in `aws`: a failed quality gate is not retried.

SageMaker only reports that a container exited non-zero; it does not say with which code. Each kind of
job says why in its own place, which its operator reads when the job fails:

- a processing step writes its result JSON (`common.step_entrypoint`), with the status
  `quality_gate_failed` when it exits with code 3;
- the training script writes the job's FailureReason (the first KiB of `/opt/ml/output/failure`, see
  `pipelines.training.train`), which starts with `training data:` when it exits with code 3.

A failed gate fails the task at once, as exit code 3 does in the local profile (the data is the problem,
and a retry would run the same job, a spot GPU job for training, on the same data); anything else is
left to the task's retries. The amazon provider is imported here, so DAG files import this module only
when the `aws` profile builds a task.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerProcessingOperator,
    SageMakerTrainingOperator,
)
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from botocore.exceptions import BotoCoreError, ClientError

from common import storage
from common.step_entrypoint import RESULT_ARG

log = logging.getLogger(__name__)

QUALITY_GATE_FAILED = "quality_gate_failed"
# How `pipelines.training.train` starts the failure reason of a training job that exits with code 3.
TRAINING_DATA_FAILURE = "training data:"


class QualityGateIsFinal:
    """Around a job's start or wait: a job failure whose step reports a failed quality gate becomes a
    task failure that Airflow does not retry; any other failure passes through unchanged.

    `gate_error` is asked only once the job has failed, and answers the step's error message when the
    failure was a quality gate, else None.
    """

    def __init__(self, task_id: str, gate_error: Callable[[], str | None]) -> None:
        self.task_id = task_id
        self.gate_error = gate_error

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if not isinstance(error, AirflowException) or isinstance(error, AirflowFailException):
            return
        message = self.gate_error()
        if message is not None:
            raise AirflowFailException(
                f"{self.task_id}: data-quality gate failed (exit code 3, not retried): {message}"
            ) from error


class StepProcessingOperator(SageMakerProcessingOperator):
    """A heavy step as a deferrable SageMaker Processing job, with the step's exit-code semantics."""

    def execute(self, context: Any) -> dict:
        self._forget_previous_result()
        with QualityGateIsFinal(self.task_id, self._result_gate_error):
            return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, dict]:
        with QualityGateIsFinal(self.task_id, self._result_gate_error):
            return super().execute_complete(context, event)

    def result_uri(self) -> str | None:
        """The `--result-uri` the step was given (rendered: templates are filled in before execute)."""
        args = list(self.config.get("AppSpecification", {}).get("ContainerArguments", []))
        if RESULT_ARG in args[:-1]:
            return str(args[args.index(RESULT_ARG) + 1])
        return None

    def _forget_previous_result(self) -> None:
        # A cleared task re-runs with the same result URI: an earlier try's verdict must not be read as
        # this try's, should this job die before it writes one.
        uri = self.result_uri()
        if uri is not None:
            storage.remove(uri)

    def _result_gate_error(self) -> str | None:
        uri = self.result_uri()
        if uri is None or not storage.exists(uri):
            return None  # the job died before writing a result: a crash, which retries may fix
        result = storage.read_json(uri)
        if result.get("status") == QUALITY_GATE_FAILED:
            return str(result.get("error"))
        return None


class StepTrainingOperator(SageMakerTrainingOperator):
    """The training script as a deferrable SageMaker training job, with the step's exit-code semantics.

    Each try is a new job (its name holds the try number), so no earlier try's reason can be read.
    """

    def execute(self, context: Any) -> dict:
        with QualityGateIsFinal(
            self.task_id, lambda: self.training_data_error(self.config["TrainingJobName"])
        ):
            return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, dict]:
        job_name = str((event or {}).get("job_name") or self.config["TrainingJobName"])
        with QualityGateIsFinal(self.task_id, lambda: self.training_data_error(job_name)):
            return super().execute_complete(context, event)

    def _started_job_error(self) -> str | None:
        # The name is read once the job has failed: the operator may rename a job as it starts it.
        return self.training_data_error(self.config["TrainingJobName"])

    def training_data_error(self, job_name: str) -> str | None:
        """The job's failure reason when the training data failed the script's checks, else None."""
        try:
            reason = str(self.hook.describe_training_job(job_name).get("FailureReason", ""))
        except (BotoCoreError, ClientError):  # no job to describe: it failed to start, retries may fix it
            log.warning("could not describe training job %s", job_name, exc_info=True)
            return None
        return reason if TRAINING_DATA_FAILURE in reason else None
