"""In `aws`, a heavy step's or the training job's failed quality gate (exit code 3) fails its task without
retries, as it does locally; a crash keeps the task's retries. SageMaker and S3 are moto's server on
loopback."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from common import storage
from common.airflow_steps import heavy_step, training_step
from common.processing_operator import StepProcessingOperator, StepTrainingOperator
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


# ---- training jobs: the script's failure reason says when its data failed -----------------------------

TRAINING_JOB = "train-20261201t030000-1"
DATA_FAILURE = "AlgorithmError: training data: train.jsonl row 7 has no target"
CRASH = "AlgorithmError: training failed: RuntimeError('CUDA error: out of memory')"


class _PlanTask:
    """What the operator's templates read: the `plan` task's result and the try number."""

    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.try_number = 1

    def xcom_pull(self, task_ids: str) -> dict:
        return self.plan


def _fail_training_job(name: str, reason: str) -> None:
    """Make moto's job fail as SageMaker reports it: status Failed, the failure file as its reason."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    job = sagemaker_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].training_jobs[name]
    job.training_job_status = "Failed"
    job.failure_reason = reason


@pytest.fixture
def training(monkeypatch, aws_endpoint) -> StepTrainingOperator:
    """The DAG's `train` task, rendered from a plan, with its input channels present in S3."""
    from pipelines.training.plan import plan_run

    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("aws")
    task = training_step("train", "pipelines.training.train", settings)
    assert isinstance(task, StepTrainingOperator)
    plan = plan_run(settings, "manual__x", "2026-12-01T03:00:00+00:00", {})
    task.config = task.render_template(task.config, {"ti": _PlanTask(plan), "ts_nodash": "20261201T030000"})
    buckets: set[str] = set()
    for channel in task.config["InputDataConfig"]:
        bucket, key = channel["DataSource"]["S3DataSource"]["S3Uri"].removeprefix("s3://").split("/", 1)
        if bucket not in buckets:
            s3 = create_bucket(aws_endpoint, bucket)
            buckets.add(bucket)
        s3.put_object(Bucket=bucket, Key=f"{key.rstrip('/')}/part", Body=b"x")
    assert task.config["TrainingJobName"] == TRAINING_JOB
    return task


def _started(training: StepTrainingOperator) -> StepTrainingOperator:
    training.execute({})  # moto completes a job when it is created: nothing to wait for
    return training


def test_a_training_job_failing_on_its_data_fails_the_task_without_retries(training):
    _started(training)
    _fail_training_job(TRAINING_JOB, DATA_FAILURE)
    event = {"status": "error", "message": "Training job failed", "job_name": TRAINING_JOB}
    with pytest.raises(AirflowFailException, match=r"exit code 3, not retried\): .*row 7 has no target"):
        training.execute_complete({}, event)


def test_a_training_job_found_failed_on_its_data_at_start_fails_without_retries(training, monkeypatch):
    from moto.sagemaker.models import FakeTrainingJob

    born = FakeTrainingJob.__init__

    def born_failed(self, *args, **kwargs):
        born(self, *args, **kwargs)
        self.training_job_status = "Failed"
        self.failure_reason = DATA_FAILURE

    monkeypatch.setattr(FakeTrainingJob, "__init__", born_failed)
    with pytest.raises(AirflowFailException, match="row 7 has no target"):
        training.execute({})


@pytest.mark.parametrize("reason", [CRASH, None])
def test_a_training_crash_is_left_to_the_retries(training, reason):
    _started(training)
    if reason is not None:
        _fail_training_job(TRAINING_JOB, reason)
    with pytest.raises(AirflowException) as raised:
        training.execute_complete({}, {"status": "error", "message": "failed", "job_name": TRAINING_JOB})
    assert not isinstance(raised.value, AirflowFailException)


def test_a_training_job_that_never_started_is_left_to_the_retries(training):
    event = {"status": "error", "message": "failed", "job_name": "never-created"}
    with pytest.raises(AirflowException) as raised:
        training.execute_complete({}, event)
    assert not isinstance(raised.value, AirflowFailException)
