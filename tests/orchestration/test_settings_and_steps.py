"""Settings profiles, the step runners and the plan of a run."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.data_versioning import DataRegistry
from common.settings import AlertSettings, SettingsError, load_settings
from common.step_entrypoint import EXIT_QUALITY_GATE
from common.steps import StepCall, StepFailed, SubprocessStepRunner, sagemaker_processing_config
from pipelines.ingestion.plan import plan_run, resolve_window
from tests.orchestration.aws_env import AWS_PROFILE_ENV


def test_local_profile_is_offline_and_self_contained(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path))
    settings = load_settings("local")
    assert settings.lake_uri == f"file://{tmp_path}/lake"
    assert settings.steps.runner == "subprocess"
    assert settings.source.kind == "sqlite"
    assert settings.thresholds.ingestion.max_quarantine_rate < 1


def test_environment_overrides_the_files(monkeypatch):
    monkeypatch.setenv("LLMOPS_INGESTION__BATCH_SIZE", "77")
    monkeypatch.setenv("LLMOPS_INGESTION__LANGUAGE__MIN_CONFIDENCE", "0.5")
    settings = load_settings("local")
    assert settings.ingestion.batch_size == 77
    assert settings.ingestion.language.min_confidence == 0.5


def test_aws_profile_names_the_missing_variables(monkeypatch):
    for key in AWS_PROFILE_ENV:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(SettingsError, match="LLMOPS_LAKE_BUCKET"):
        load_settings("aws")


def test_aws_profile_loads_with_its_variables(monkeypatch):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("aws")
    assert settings.lake_uri == "s3://llmops-lake-test/lake"
    assert settings.steps.runner == "sagemaker"
    assert settings.source.kind == "postgres"


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(SettingsError, match="unknown profile 'staging'"):
        load_settings("staging")


def test_each_profile_difference_is_a_named_setting(monkeypatch):
    local = load_settings("local")
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    aws = load_settings("aws")
    assert (local.dvc.create_registry, aws.dvc.create_registry) == (True, False)
    assert (local.alerts.destination, aws.alerts.destination) == ("file", "sns")
    assert (local.lake.retention_by_lifecycle_rules, aws.lake.retention_by_lifecycle_rules) == (False, True)
    assert (local.vector_store.backend, aws.vector_store.backend) == ("lancedb", "opensearch")
    assert aws.vector_store.opensearch is not None
    assert aws.vector_store.opensearch.aws_conn_id is None  # opened by SageMaker jobs only: their role signs


def test_the_registry_is_created_only_where_the_setting_allows_it(monkeypatch):
    assert DataRegistry.from_settings(load_settings("local")).allow_create
    monkeypatch.setenv("LLMOPS_DVC__CREATE_REGISTRY", "false")
    assert not DataRegistry.from_settings(load_settings("local")).allow_create


def test_sns_alerts_need_a_topic():
    with pytest.raises(ValueError, match="sns_topic_arn"):
        AlertSettings(destination="sns")


PROFILE_NAME_TEST = re.compile(r"""profile\s*[!=]=\s*["'](?:local|aws)["']""")


def test_no_code_branches_on_the_profile_name():
    """A difference between profiles is a setting in config/profiles, so that it is visible and testable."""
    root = Path(__file__).resolve().parents[2]
    found = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("src", "dags", "scripts")
        for path in sorted((root / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PROFILE_NAME_TEST.search(line)
    ]
    assert found == []


def _runner() -> SubprocessStepRunner:
    return SubprocessStepRunner(python=sys.executable, timeout_s=60, profile="local")


def test_subprocess_runner_runs_the_module_with_the_same_argv(tmp_path):
    out = tmp_path / "out.txt"
    call = StepCall("tests.orchestration.echo_step", {"output_uri": str(out), "mode": "ok"})
    _runner().run(call)
    assert out.read_text() == "--output-uri|--mode|ok|local"


@pytest.mark.parametrize(
    ("mode", "code", "retryable"), [("crash", 1, True), ("gate", EXIT_QUALITY_GATE, False)]
)
def test_subprocess_runner_keeps_exit_code_semantics(tmp_path, mode, code, retryable):
    call = StepCall("tests.orchestration.echo_step", {"output_uri": str(tmp_path / "o"), "mode": mode})
    with pytest.raises(StepFailed) as failure:
        _runner().run(call)
    assert failure.value.exit_code == code
    assert failure.value.retryable is retryable


def test_sagemaker_request_runs_the_same_argv(monkeypatch):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    sagemaker = load_settings("aws").steps.sagemaker
    call = StepCall("pipelines.ingestion.transform", {"raw_uri": "s3://b/raw", "output_uri": "s3://b/out"})
    config = sagemaker_processing_config(call, "transform-x", sagemaker)
    app = config["AppSpecification"]
    assert app["ContainerEntrypoint"] + app["ContainerArguments"] == [
        "python",
        "-m",
        call.module,
        *call.argv(),
    ]
    assert config["ProcessingResources"]["ClusterConfig"]["InstanceType"] == sagemaker.instance_type
    assert config["StoppingCondition"]["MaxRuntimeInSeconds"] == sagemaker.max_runtime_s
    assert "AWS_SECRET_ACCESS_KEY" not in config["Environment"]
    assert config["NetworkConfig"]["VpcConfig"] == {
        "Subnets": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
        "SecurityGroupIds": ["sg-0bbbbbbbbbbbbbbb1"],
    }


def test_window_is_whole_utc_days_before_the_interval_end_or_the_backfill_days():
    start, end = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    trigger = datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert resolve_window(trigger, trigger) == (start, end)  # Airflow 3's cron: a zero-length interval
    assert resolve_window(trigger - timedelta(days=1), trigger) == (start, end)  # a cron data interval
    assert resolve_window(start, end) == (start, end)
    assert resolve_window(trigger - timedelta(days=3), trigger) == (start - timedelta(days=2), end)
    with pytest.raises(ValueError, match="ends before it starts"):
        resolve_window(end, start)
    assert resolve_window(start, end, "2026-11-01", "2026-11-03") == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 11, 4, tzinfo=UTC),
    )
    with pytest.raises(ValueError, match="both"):
        resolve_window(start, end, "2026-11-01", None)
    with pytest.raises(ValueError, match="before"):
        resolve_window(start, end, "2026-11-03", "2026-11-01")


def test_plan_is_stable_per_run_and_separate_between_runs():
    start, end = datetime(2026, 11, 19, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    a = plan_run("s3://lake/x", "scheduled__2026-11-19", start, end)
    assert a == plan_run("s3://lake/x", "scheduled__2026-11-19", start, end)
    b = plan_run("s3://lake/x", "manual__2026-11-21", start, end)
    assert a.staged_uri != b.staged_uri
    assert a.raw_uri.startswith("s3://lake/x/raw/reviews/window=20261119T000000_20261120T000000/")


def test_a_step_runs_in_the_environment_it_names(monkeypatch):
    """The evaluation scan needs giskard (numpy<2): its own interpreter locally, its own SageMaker image."""
    local = load_settings("local")
    runner = SubprocessStepRunner.from_settings(
        local.model_copy(
            update={"steps": local.steps.model_copy(update={"pythons": {"evaluation": sys.executable}})}
        ),
        "evaluation",
    )
    assert runner.python == sys.executable
    with pytest.raises(ValueError, match="step environment 'gpu'"):
        SubprocessStepRunner.from_settings(local, "gpu")
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    sagemaker = load_settings("aws").steps.sagemaker
    assert sagemaker is not None
    scan = StepCall("pipelines.evaluation.scan", {"output_uri": "s3://b/scan"}, "evaluation")
    image = sagemaker_processing_config(scan, "scan-x", sagemaker)["AppSpecification"]["ImageUri"]
    assert image == AWS_PROFILE_ENV["LLMOPS_EVALUATION_IMAGE_URI"] != sagemaker.image_uri
    with pytest.raises(ValueError, match="no image for the step environment 'gpu'"):
        sagemaker_processing_config(StepCall("m", {}, "gpu"), "x", sagemaker)
