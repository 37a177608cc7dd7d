"""The SageMaker Processing operator of heavy steps in `aws`: a failed quality gate is not retried.

SageMaker only reports that a processing container exited non-zero; it does not say with which code.
The step itself says why in its result JSON (`common.step_entrypoint`), so when the job fails this
operator reads that result: `quality_gate_failed` fails the task at once, as exit code 3 does in the
local profile (the data is the problem, and a retry would run the same job on the same data); anything
else is left to the task's retries. The amazon provider is imported here, so DAG files import this
module only when the `aws` profile builds a task.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerProcessingOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from common import storage
from common.step_entrypoint import RESULT_ARG

QUALITY_GATE_FAILED = "quality_gate_failed"


class StepProcessingOperator(SageMakerProcessingOperator):
    """A heavy step as a deferrable SageMaker Processing job, with the step's exit-code semantics."""

    def execute(self, context: Any) -> dict:
        self._forget_previous_result()
        try:
            return super().execute(context)
        except AirflowException:
            self._fail_fast_on_quality_gate()
            raise

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> dict[str, dict]:
        try:
            return super().execute_complete(context, event)
        except AirflowException:
            self._fail_fast_on_quality_gate()
            raise

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

    def _fail_fast_on_quality_gate(self) -> None:
        uri = self.result_uri()
        if uri is None or not storage.exists(uri):
            return  # the job died before writing a result: a crash, which retries may fix
        result = storage.read_json(uri)
        if result.get("status") == QUALITY_GATE_FAILED:
            raise AirflowFailException(
                f"{self.task_id}: data-quality gate failed (exit code 3, not retried): {result.get('error')}"
            )
