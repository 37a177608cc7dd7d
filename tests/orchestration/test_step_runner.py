"""The local step runner as a task sees it: timeouts that stop the step and what it started, a log that
says why a step failed, and imports that the worker's current folder cannot shadow."""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from common.dag_defaults import default_args, heavy_step_timeout, training_step_timeout
from common.settings import load_settings
from common.steps import (
    StepCall,
    StepFailed,
    StepTimedOut,
    SubprocessStepRunner,
    TrainingCall,
    sagemaker_processing_config,
    sagemaker_training_config,
)
from tests.orchestration.aws_env import AWS_PROFILE_ENV

REPO = Path(__file__).resolve().parents[2]
# The chatty step runs in the task environment when there is one: its libraries (tqdm) are there.
TASK_PYTHON = REPO / ".venv-tasks" / "bin" / "python"
STEP_PYTHON = str(TASK_PYTHON) if TASK_PYTHON.exists() else sys.executable


def _gone(pid: int) -> bool:
    """No such process, or only its zombie (which a container's init may never reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.parametrize("ignore_term", ["no", "yes"])
def test_a_step_past_its_timeout_is_killed_with_what_it_started(tmp_path, ignore_term):
    pid_file = tmp_path / "pids"
    runner = SubprocessStepRunner(python=sys.executable, timeout_s=2, profile="local", kill_grace_s=1)
    call = StepCall(
        "tests.orchestration.sleepy_step", {"pid_file": str(pid_file), "ignore_term": ignore_term}
    )
    started = time.monotonic()
    with pytest.raises(
        StepTimedOut, match=r"tests\.orchestration\.sleepy_step timed out after 2 s"
    ) as failure:
        runner.run(call)
    assert time.monotonic() - started < 10
    assert failure.value.retryable
    assert isinstance(failure.value, StepFailed)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the step's own child process survived the timeout"


def test_a_failed_step_logs_its_traceback_at_error_and_says_why(tmp_path, caplog):
    runner = SubprocessStepRunner(python=STEP_PYTHON, timeout_s=60, profile="local")
    call = StepCall(
        "tests.orchestration.chatty_step", {"result_uri": str(tmp_path / "r.json"), "mode": "crash"}
    )
    with caplog.at_level(logging.INFO, logger="common.steps"), pytest.raises(StepFailed) as failure:
        runner.run(call)
    assert str(failure.value).endswith("crashed (exit code 1): ValueError: the input partition has no rows")
    assert failure.value.retryable

    records = [r for r in caplog.records if r.name == "common.steps"]
    levels = {r.getMessage(): r.levelno for r in records}
    raised = [m for m, level in levels.items() if m.endswith("ValueError: the input partition has no rows")]
    assert raised and all(levels[m] == logging.ERROR for m in raised)
    assert any("Traceback (most recent call last)" in m and lv == logging.ERROR for m, lv in levels.items())
    assert any(m.endswith("3 rows had no language") and lv == logging.WARNING for m, lv in levels.items())
    # The task's error line: one record with the reason and the step's last lines.
    (report,) = [
        r for r in records if r.getMessage().startswith("step tests.orchestration.chatty_step crashed")
    ]
    assert report.levelno == logging.ERROR
    assert "Traceback (most recent call last)" in report.getMessage()
    text = "\n".join(r.getMessage() for r in records)
    for chatter in ("Loaded recognizer", "Created temporary directory", "computing hashes", "progress-bar"):
        assert chatter not in text


def test_a_step_ends_with_one_summary_line(tmp_path, caplog):
    runner = SubprocessStepRunner(python=STEP_PYTHON, timeout_s=60, profile="local")
    call = StepCall("tests.orchestration.chatty_step", {"result_uri": str(tmp_path / "r.json"), "mode": "ok"})
    with caplog.at_level(logging.INFO, logger="common.steps"):
        runner.run(call)
    messages = [r.getMessage() for r in caplog.records if r.name == "common.steps"]
    assert messages[-1].endswith(
        "chatty_step finished: rows=3, output_uri=file:///lake/out, partitions=<2 item(s)>"
    )
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_the_workers_current_folder_cannot_shadow_the_project(tmp_path, monkeypatch):
    (tmp_path / "common.py").write_text("raise ImportError('a stray common.py was imported')\n")
    (tmp_path / "tests.py").write_text("raise ImportError('a stray tests.py was imported')\n")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.txt"
    runner = SubprocessStepRunner(python=sys.executable, timeout_s=60, profile="local")
    runner.run(StepCall("tests.orchestration.echo_step", {"output_uri": str(out), "mode": "ok"}))
    assert out.read_text() == "--output-uri|--mode|ok|local"


def test_sagemaker_jobs_run_steps_with_a_safe_path(monkeypatch):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    settings = load_settings("aws")
    processing = sagemaker_processing_config(
        StepCall("pipelines.embedding.forget"), "x", settings.steps.sagemaker
    )
    call = TrainingCall("pipelines.training.train", {}, {}, "s3://b/m", "s3://b/o", "s3://b/c")
    assert settings.training.sagemaker is not None
    training = sagemaker_training_config(call, "x", settings.training.sagemaker)
    for request in (processing, training):
        assert request["Environment"]["PYTHONSAFEPATH"] == "1"
        assert request["Environment"]["TQDM_DISABLE"] == "1"


@pytest.mark.parametrize("profile", ["local", "aws"])
def test_tasks_time_out_after_their_runner(monkeypatch, profile):
    for key, value in AWS_PROFILE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LLMOPS_AIRFLOW__EXECUTION_TIMEOUT_S", "1234")
    settings = load_settings(profile)
    assert default_args(settings)["execution_timeout"] == timedelta(seconds=1234)
    margin = timedelta(seconds=settings.airflow.step_timeout_margin_s)
    if profile == "local":
        runner_limit = timedelta(seconds=settings.steps.timeout_s)
        assert heavy_step_timeout(settings) == training_step_timeout(settings) == runner_limit + margin
    else:
        assert settings.steps.sagemaker and settings.training.sagemaker
        processing = timedelta(seconds=settings.steps.sagemaker.max_runtime_s)
        assert heavy_step_timeout(settings) == processing + margin
        assert training_step_timeout(settings) >= timedelta(seconds=settings.training.sagemaker.max_wait_s)
