"""The fine-tuning DAG's orchestration: its plan, the SageMaker training request it builds, the local
training contract, and where the trained artifacts are read from. No AWS: the request is checked field
by field and against botocore's own model of CreateTrainingJob."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from common.settings import TrainingHyperparameters, get_settings, load_settings
from common.steps import TrainingCall, run_local_training, sagemaker_training_config
from pipelines.training.plan import plan_run, training_artifacts
from tests.orchestration.aws_env import AWS_PROFILE_ENV

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws_settings(monkeypatch):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    yield load_settings("aws")
    get_settings.cache_clear()


def botocore_errors(operation: str, request: dict) -> str:
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("sagemaker")
    report = ParamValidator().validate(request, model.operation_model(operation).input_shape)
    return report.generate_report() if report.has_errors() else ""


def test_plan_takes_the_trigger_form_over_the_profile():
    settings = load_settings("local")
    params = {"lora_rank": 4, "learning_rate": 0.01, "lora_target_modules": ["q_proj"], "max_steps": None}
    plan = plan_run(settings, "manual__1", "2026-12-01T03:00:00+00:00", params)
    hp = plan["hyperparameters"]
    assert hp["lora_rank"] == "4" and hp["learning_rate"] == "0.01" and hp["lora_target_modules"] == "q_proj"
    defaults = settings.training.hyperparameters
    assert hp["max_steps"] == str(defaults.max_steps)  # an empty field keeps the profile's value
    assert plan["base_model"] == settings.training.base_model
    assert plan["base_model_id"] == settings.training.base_model_id
    assert plan["dataset_version"] is None and plan["golden_version"] is None
    assert plan == plan_run(settings, "manual__1", "2026-12-01T03:00:00+00:00", params)
    other = plan_run(settings, "manual__2", "2026-12-01T03:00:00+00:00", params)
    assert other["run_key"] != plan["run_key"] and other["model_uri"] != plan["model_uri"]


def test_plan_refuses_hyperparameters_the_script_would_refuse():
    with pytest.raises(ValueError, match="lora_rank"):
        plan_run(load_settings("local"), "manual__1", "2026-12-01T03:00:00", {"lora_rank": 0})


def test_a_new_base_model_is_recorded_under_its_own_name():
    plan = plan_run(load_settings("local"), "r", "2026-12-01T03:00:00", {"base_model": "/models/other"})
    assert plan["base_model"] == plan["base_model_id"] == "/models/other"


def test_training_request_field_by_field(aws_settings):
    sagemaker = aws_settings.training.sagemaker
    plan = plan_run(aws_settings, "scheduled__2026-12-01", "2026-12-01T03:00:00+00:00", {})
    hyperparameters = aws_settings.training.hyperparameters.as_hyperparameters()
    call = TrainingCall(
        module="pipelines.training.train",
        hyperparameters=hyperparameters,
        channels={
            "training": plan["train_channel"],
            "validation": plan["validation_channel"],
            "base_model": plan["base_model"],
        },
        model_uri=plan["model_uri"],
        output_uri=plan["output_uri"],
        checkpoint_uri=plan["checkpoint_uri"],
    )
    request = sagemaker_training_config(call, "train-20261201t030000-1", sagemaker)
    assert botocore_errors("CreateTrainingJob", request) == ""

    algorithm = request["AlgorithmSpecification"]
    assert algorithm["TrainingImage"] == AWS_PROFILE_ENV["LLMOPS_TRAINING_IMAGE_URI"]
    assert algorithm["ContainerEntrypoint"] == ["python", "-m", "pipelines.training.train"]
    # The script parses exactly the hyperparameters the job shows, all strings as SageMaker passes them.
    assert algorithm["ContainerArguments"] == TrainingHyperparameters(**hyperparameters).as_arguments()
    assert request["HyperParameters"] == hyperparameters
    assert all(isinstance(v, str) for v in request["HyperParameters"].values())
    assert request["RoleArn"] == AWS_PROFILE_ENV["LLMOPS_SAGEMAKER_ROLE_ARN"]

    inputs = request["InputDataConfig"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in inputs}
    lake = f"s3://{AWS_PROFILE_ENV['LLMOPS_LAKE_BUCKET']}/lake"
    assert channels == {
        "training": f"{lake}/training/{plan['run_key']}/sft/train",
        "validation": f"{lake}/training/{plan['run_key']}/sft/validation",
        "base_model": f"s3://{AWS_PROFILE_ENV['LLMOPS_MODELS_BUCKET']}/base-models/qwen2.5-1.5b-instruct/",
    }
    assert request["OutputDataConfig"]["S3OutputPath"] == sagemaker.output_s3_uri
    assert request["ResourceConfig"]["InstanceType"].startswith(("ml.g5.", "ml.g6.", "ml.g6e.", "ml.p"))
    assert request["EnableManagedSpotTraining"] is True
    stopping = request["StoppingCondition"]
    assert stopping["MaxRuntimeInSeconds"] == sagemaker.max_runtime_s
    assert stopping["MaxWaitTimeInSeconds"] >= stopping["MaxRuntimeInSeconds"]
    # Checkpoints per run: a retried or interrupted job of this run resumes, another run starts afresh.
    assert request["CheckpointConfig"] == {
        "S3Uri": f"{sagemaker.checkpoint_s3_uri}/{plan['run_key']}",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["Environment"]["SM_CHECKPOINT_DIR"] == "/opt/ml/checkpoints"
    assert request["Environment"]["LLMOPS_PROFILE"] == "aws"
    assert not any("SECRET" in key or "TOKEN" in key for key in request["Environment"])
    # The deferrable wait covers the longest the job may take, spot capacity waits included.
    assert sagemaker.check_interval_s * sagemaker.max_attempts >= stopping["MaxWaitTimeInSeconds"]


class _TaskInstance:
    """What the operator's templates read: the `plan` task's result."""

    def __init__(self, plan: dict) -> None:
        self.plan = plan
        self.try_number = 1

    def xcom_pull(self, task_ids: str) -> dict:
        assert task_ids == "plan"
        return self.plan


def test_the_dag_builds_a_deferrable_training_job_from_its_plan(aws_settings):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / "summarizer_finetuning.py"))
    assert bag.import_errors == {}
    dag = bag.dags["summarizer_finetuning"]
    train = dag.get_task("train")
    assert type(train).__name__ == "StepTrainingOperator"
    assert train.deferrable is True and train.wait_for_completion is True
    sagemaker = aws_settings.training.sagemaker
    assert train.check_interval * train.max_attempts >= sagemaker.max_wait_s
    assert train.max_ingestion_time == sagemaker.max_wait_s

    params = {"lora_rank": 8, "lora_target_modules": ["q_proj", "v_proj"]}
    plan = plan_run(aws_settings, "manual__x", "2026-12-01T03:00:00+00:00", params)
    context = {"ti": _TaskInstance(plan), "ts_nodash": "20261201T030000"}
    rendered = train.render_template(train.config, context)
    assert botocore_errors("CreateTrainingJob", rendered) == ""
    assert rendered["TrainingJobName"] == "train-20261201t030000-1"
    assert rendered["HyperParameters"] == plan["hyperparameters"]
    assert rendered["HyperParameters"]["lora_rank"] == "8"
    assert rendered["HyperParameters"]["lora_target_modules"] == "q_proj,v_proj"
    args = rendered["AlgorithmSpecification"]["ContainerArguments"]
    assert args[args.index("--lora_rank") + 1] == "8"
    assert rendered["CheckpointConfig"]["S3Uri"] == plan["checkpoint_uri"]
    assert {c["ChannelName"] for c in rendered["InputDataConfig"]} == {"training", "validation", "base_model"}


def test_local_training_gets_the_sagemaker_contract(tmp_path):
    call = TrainingCall(
        module="tests.orchestration.training_probe",
        hyperparameters={"lora_rank": "4", "lora_target_modules": "q_proj,v_proj"},
        channels={"training": f"file://{tmp_path}/sft/train", "base_model": str(tmp_path / "base")},
        model_uri=f"file://{tmp_path}/model",
        output_uri=f"file://{tmp_path}/output",
        checkpoint_uri=f"file://{tmp_path}/checkpoints",
    )
    result = run_local_training(sys.executable, call, timeout_s=60, profile="local")
    recorded = json.loads((tmp_path / "output" / "contract.json").read_text())
    assert recorded["argv"] == ["--lora_rank", "4", "--lora_target_modules", "q_proj,v_proj"]
    assert recorded["env"] == {
        "SM_MODEL_DIR": f"{tmp_path}/model",
        "SM_OUTPUT_DATA_DIR": f"{tmp_path}/output",
        "SM_CHECKPOINT_DIR": f"{tmp_path}/checkpoints",
        "SM_CHANNELS": "training,base_model",
        "SM_CHANNEL_TRAINING": f"{tmp_path}/sft/train",
        "SM_CHANNEL_BASE_MODEL": str(tmp_path / "base"),
    }
    assert training_artifacts(result) == {
        "model_uri": f"file://{tmp_path}/model",
        "output_uri": f"file://{tmp_path}/output",
        "job": "local",
    }


def test_artifacts_of_a_sagemaker_job_are_its_model_and_output_archives():
    described = {
        "Training": {
            "TrainingJobName": "train-20261201t030000-1",
            "TrainingJobStatus": "Completed",
            "ModelArtifacts": {
                "S3ModelArtifacts": "s3://m/adapters/train-20261201t030000-1/output/model.tar.gz"
            },
        }
    }
    assert training_artifacts(described) == {
        "model_uri": "s3://m/adapters/train-20261201t030000-1/output/model.tar.gz",
        "output_uri": "s3://m/adapters/train-20261201t030000-1/output/output.tar.gz",
        "job": "train-20261201t030000-1",
    }
    described["Training"]["TrainingJobStatus"] = "Failed"
    with pytest.raises(ValueError, match="Failed"):
        training_artifacts(described)
