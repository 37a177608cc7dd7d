"""In `aws`, a heavy step's failed quality gate (exit code 3) fails its task without retries, as it does
locally; a crash keeps the task's retries. SageMaker and S3 are moto's server on loopback."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from common import storage
from common.airflow_steps import heavy_step
from common.processing_operator import StepProcessingOperator
from common.settings import load_settings
from tests.aws_server import create_bucket
from tests.orchestration.aws_env import AWS_PROFILE_ENV

RESULT = "s3://steps-test/results/validate.json"
FAILED_EVENT = {"status": "error", "message": "Processing job failed", "job_name": "validate-x"}


@pytest.fixture
def operator(monkeypatch, aws_endpoint) -> StepProcessingOperator:
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    create_bucket(aws_endpoint, "steps-test")
    args = {"staged_uri": "s3://steps-test/staged", "result_uri": RESULT}
    task = heavy_step("validate", "pipelines.ingestion.validate", args, load_settings("aws"))
    assert isinstance(task, StepProcessingOperator)
    return task


def test_it_reads_the_result_uri_from_the_step_arguments(operator):
    assert operator.result_uri() == RESULT


def test_a_failed_quality_gate_fails_the_task_without_retries(operator):
    storage.write_json(RESULT, {"status": "quality_gate_failed", "error": "quarantine rate 0.41 > 0.25"})
    with pytest.raises(AirflowFailException, match=r"exit code 3, not retried\): quarantine rate 0\.41"):
        operator.execute_complete({}, FAILED_EVENT)


@pytest.mark.parametrize("result", [{"status": "failed", "error": "MemoryError()"}, None])
def test_a_crash_is_left_to_the_retries(operator, result):
    if result is not None:
        storage.write_json(RESULT, result)
    with pytest.raises(AirflowException) as raised:
        operator.execute_complete({}, FAILED_EVENT)
    assert not isinstance(raised.value, AirflowFailException)


def test_a_new_try_does_not_read_an_earlier_tries_verdict(operator):
    storage.write_json(RESULT, {"status": "quality_gate_failed", "error": "from an earlier try"})
    operator._forget_previous_result()
    assert not storage.exists(RESULT)
    with pytest.raises(AirflowException) as raised:
        operator.execute_complete({}, FAILED_EVENT)
    assert not isinstance(raised.value, AirflowFailException)


def test_execute_forgets_an_earlier_verdict_then_starts_the_job(operator, aws_endpoint):
    import boto3

    storage.write_json(RESULT, {"status": "quality_gate_failed", "error": "from an earlier try"})
    operator.deferrable = False  # moto completes a job when it is created: nothing to wait for
    operator.execute({})
    assert not storage.exists(RESULT)
    sagemaker = boto3.client("sagemaker", endpoint_url=aws_endpoint, region_name="eu-west-1")
    (job,) = sagemaker.list_processing_jobs()["ProcessingJobSummaries"]
    described = sagemaker.describe_processing_job(ProcessingJobName=job["ProcessingJobName"])
    assert described["AppSpecification"]["ContainerArguments"][-2:] == ["--result-uri", RESULT]
