"""Running a heavy step: the same module and arguments as a local subprocess or a SageMaker Processing job.

This is the project's one swap point for step execution. A step is a module whose `main()` follows
`common.step_entrypoint`; a `StepCall` names the module and its `--name value` arguments. The `local`
profile runs it with the task environment's interpreter; the `aws` profile hands the very same argv to a
SageMaker Processing job running the task image. Nothing here imports Airflow, so the runner is usable
and testable on its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from common import storage
from common.settings import SageMakerSettings, SageMakerTrainingSettings, Settings
from common.step_entrypoint import EXIT_CRASH, EXIT_OK, EXIT_QUALITY_GATE, EXIT_USAGE

log = logging.getLogger(__name__)

# Environment variables a step inherits wherever it runs: the profile and everything the profile reads.
PASSED_ENV_PREFIXES = ("LLMOPS_", "AWS_DEFAULT_REGION", "AWS_REGION")
# How a step's interpreter behaves wherever it runs. Safe path: imports come from the installed
# environment only, never from the folder the worker was started in (a stray `common.py` there would
# shadow the project's package). No progress bars: they are thousands of log lines that say nothing.
STEP_PROCESS_ENV = {"PYTHONSAFEPATH": "1", "TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
# The orchestrator variables a local step keeps; nothing else of the worker's environment (Airflow's own
# settings, its PYTHONPATH) reaches the task environment's interpreter.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
# Lines of a step's output kept for its failure report.
TAIL_LINES = 40
# How long the runner keeps reading after the step's process is gone: something it started may still hold
# the output open.
OUTPUT_DRAIN_S = 5.0
# A child line as `common.step_entrypoint` formats it: `%(asctime)s %(levelname)s %(name)s: %(message)s`.
_CHILD_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [^:]*: (.*)$"
)


TASKS = "tasks"  # the default step environment: the task image


@dataclass(frozen=True)
class StepCall:
    """One invocation of a heavy step: `python -m <module> --<key> <value> ...`."""

    module: str
    args: dict[str, str] = field(default_factory=dict)
    # The environment the step runs in: `tasks` (the task image, `.venv-tasks`), or another one named in
    # `steps.pythons` / `steps.sagemaker.images` (`evaluation`).
    environment: str = TASKS

    def argv(self) -> list[str]:
        out: list[str] = []
        for key, value in self.args.items():
            out += [f"--{key.replace('_', '-')}", str(value)]
        return out


class StepFailed(RuntimeError):
    """A step exited non-zero. `retryable` is False when retrying cannot help (bad data, bad args).

    The message ends with the step's last words (the exception of a crash, the failed gate), so the
    task's error says why without searching its log; `what` replaces the exit code's meaning.
    """

    def __init__(
        self, call: StepCall, exit_code: int, tail: Iterable[str] = (), what: str | None = None
    ) -> None:
        meaning = {
            EXIT_CRASH: "crashed",
            EXIT_USAGE: "was called with invalid arguments",
            EXIT_QUALITY_GATE: "stopped at a data-quality gate",
        }.get(exit_code, "failed")
        self.tail = list(tail)
        message = f"step {call.module} {what or f'{meaning} (exit code {exit_code})'}"
        last_words = "" if what else _last_words(self.tail)
        super().__init__(f"{message}: {last_words}" if last_words else message)
        self.call = call
        self.exit_code = exit_code
        self.retryable = exit_code not in (EXIT_USAGE, EXIT_QUALITY_GATE)


class StepTimedOut(StepFailed):
    """A step ran past the runner's timeout and was stopped with everything it started. Retryable: a
    slow dependency or a busy machine need not be there next time."""

    def __init__(self, call: StepCall, timeout_s: float, exit_code: int, tail: Iterable[str] = ()) -> None:
        what = f"timed out after {timeout_s:g} s (steps.timeout_s) and was killed with what it started"
        super().__init__(call, exit_code, tail, what)
        self.timeout_s = timeout_s
        self.retryable = True


def _last_words(tail: list[str]) -> str:
    """The last non-empty line of a step's output, without its timestamp, level and logger."""
    for line in reversed(tail):
        if line.strip():
            match = _CHILD_LINE.match(line)
            return (match.group(2) if match else line).strip()[:500]
    return ""


def step_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a step needs from the orchestrator's environment, and those that make its
    interpreter behave the same wherever it runs."""
    env = {k: v for k, v in os.environ.items() if k.startswith(PASSED_ENV_PREFIXES)}
    env.update(STEP_PROCESS_ENV)
    env.update(extra or {})
    return env


class _StepOutput:
    """Relays a step's output into the caller's log at the level each line was logged with, and keeps
    its last lines for the failure report."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)

    def follow(self, stream: IO[str]) -> None:
        level = logging.INFO
        for raw in stream:
            line = raw.rstrip()
            match = _CHILD_LINE.match(line)
            if match:
                level = logging.getLevelNamesMapping()[match.group(1)]
            elif line.startswith("Traceback (most recent call last):") and level < logging.WARNING:
                level = logging.ERROR  # an uncaught exception, outside logging
            # Other lines continue the record before them (a traceback, a multi-line message).
            log.log(level, "[%s] %s", self.name, line)
            self.tail.append(line)


class SubprocessStepRunner:
    """Runs a step in the local task environment, streaming its output into the caller's log.

    The step runs in its own process group, so a timeout (or the task being killed) stops the step and
    everything it started, not only the interpreter the runner started.
    """

    def __init__(self, python: str, timeout_s: int, profile: str, kill_grace_s: float = 10.0) -> None:
        self.python = python
        self.timeout_s = timeout_s
        self.profile = profile
        self.kill_grace_s = kill_grace_s

    @classmethod
    def from_settings(cls, settings: Settings, environment: str = TASKS) -> SubprocessStepRunner:
        if environment == TASKS:
            python = settings.steps.python or sys.executable
        elif environment in settings.steps.pythons:
            python = settings.steps.pythons[environment]
        else:
            raise ValueError(f"no interpreter for the step environment {environment!r} in steps.pythons")
        if not os.path.exists(python):
            variable = (
                "LLMOPS_STEPS__PYTHON"
                if environment == TASKS
                else f"LLMOPS_STEPS__PYTHONS__{environment.upper()}"
            )
            raise FileNotFoundError(
                f"{environment} environment interpreter not found: {python} "
                f"(run `make setup`, or set {variable})"
            )
        return cls(
            python=python,
            timeout_s=settings.steps.timeout_s,
            profile=settings.profile,
            kill_grace_s=settings.steps.kill_grace_s,
        )

    def run(self, call: StepCall, argv: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        """Run the step with its own arguments, or with `argv` instead, and `env` on top of the step
        variables (the training contract's folders)."""
        # -P: nothing from the current folder on sys.path (PYTHONSAFEPATH says the same to what the step
        # itself starts).
        command = [self.python, "-P", "-m", call.module, *(call.argv() if argv is None else argv)]
        log.info("running step: %s", " ".join(command))
        # The child gets a clean interpreter state: only PATH/HOME-like basics plus the step variables,
        # so nothing from the orchestrator's environment (Airflow's own settings) leaks into it.
        child_env = {k: v for k, v in os.environ.items() if k in INHERITED_VARIABLES}
        child_env.update(step_environment({"LLMOPS_PROFILE": self.profile, "PYTHONUNBUFFERED": "1"}))
        child_env.update(env or {})
        output = _StepOutput(call.module.rsplit(".", 1)[-1])
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child_env,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        assert process.stdout is not None
        reader = threading.Thread(target=output.follow, args=(process.stdout,), daemon=True)
        reader.start()
        failure: StepFailed | None = None
        try:
            exit_code = process.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            exit_code = _stop_process_group(process, self.kill_grace_s)
            reader.join(OUTPUT_DRAIN_S)
            failure = StepTimedOut(call, self.timeout_s, exit_code, output.tail)
        except BaseException:  # the task itself is being stopped: take the step down with it
            _stop_process_group(process, self.kill_grace_s)
            raise
        reader.join(OUTPUT_DRAIN_S)
        if reader.is_alive():
            log.warning("step %s exited but something it started still holds its output open", call.module)
        else:
            process.stdout.close()
        if failure is None and exit_code != EXIT_OK:
            failure = StepFailed(call, exit_code, output.tail)
        if failure is not None:
            log.error(
                "%s\nlast %d line(s) of its output:\n%s", failure, len(failure.tail), "\n".join(failure.tail)
            )
            raise failure


def _stop_process_group(process: subprocess.Popen[str], grace_s: float) -> int:
    """SIGTERM to the step's process group, SIGKILL to whatever is left of it after `grace_s`; returns
    the step's exit status (negative: the signal that ended it)."""
    group = process.pid  # start_new_session: the step leads its own group
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(group)):
        time.sleep(0.05)
    _signal_group(group, signal.SIGKILL)
    return process.wait()


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # nothing left in the group
        os.killpg(group, signum)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def processing_job_name(task_id: str) -> str:
    """A templated SageMaker job name: the task id, made name-safe, plus the run's logical timestamp.

    Names allow 63 letters, digits and hyphens; the prefix is kept short because the operator appends a
    timestamp when a retry finds the name taken.
    """
    prefix = re.sub(r"[^A-Za-z0-9-]+", "-", task_id).strip("-")[:28].rstrip("-")
    return prefix + "-{{ ts_nodash | lower }}"


def sagemaker_processing_config(
    call: StepCall, job_name: str, sagemaker: SageMakerSettings, profile: str = "aws"
) -> dict[str, Any]:
    """The CreateProcessingJob request for a step: the task image runs `python -m <module> <argv>`.

    The step reads and writes S3 URIs itself, so the job declares no ProcessingInputs/Outputs: its
    arguments are exactly those of the local subprocess. Jobs run in the private subnets when they are
    configured, which is how the embedding steps reach the OpenSearch domain inside the VPC.
    """
    if call.environment != TASKS and call.environment not in sagemaker.images:
        raise ValueError(f"no image for the step environment {call.environment!r} in steps.sagemaker.images")
    request: dict[str, Any] = {
        "ProcessingJobName": job_name,
        "RoleArn": sagemaker.role_arn,
        "AppSpecification": {
            "ImageUri": sagemaker.image_uri
            if call.environment == TASKS
            else sagemaker.images[call.environment],
            "ContainerEntrypoint": ["python", "-m", call.module],
            "ContainerArguments": call.argv(),
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": sagemaker.instance_count,
                "InstanceType": sagemaker.instance_type,
                "VolumeSizeInGB": sagemaker.volume_size_gb,
            }
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": sagemaker.max_runtime_s},
        "Environment": step_environment({"LLMOPS_PROFILE": profile}),
        "Tags": [{"Key": "llmops:step", "Value": call.module}],
    }
    subnets = [s for s in sagemaker.subnet_ids.split(",") if s.strip()]
    groups = [g for g in sagemaker.security_group_ids.split(",") if g.strip()]
    if subnets or groups:
        if not (subnets and groups):
            raise ValueError("steps.sagemaker needs both subnet_ids and security_group_ids, or neither")
        request["NetworkConfig"] = {
            "EnableNetworkIsolation": False,  # the step reads and writes S3 and the vector store itself
            "VpcConfig": {
                "Subnets": [s.strip() for s in subnets],
                "SecurityGroupIds": [g.strip() for g in groups],
            },
        }
    return request


@dataclass(frozen=True)
class TrainingCall:
    """One training run in the SageMaker training contract, wherever it runs.

    The script reads its data from channel folders (`SM_CHANNEL_<NAME>`), writes the model to
    `SM_MODEL_DIR` and everything else to `SM_OUTPUT_DATA_DIR`, checkpoints to `SM_CHECKPOINT_DIR`, and
    takes its hyperparameters as `--key value` arguments. SageMaker provides those folders inside the
    job from S3; the local runner points them at folders of the local lake.
    """

    module: str
    hyperparameters: dict[str, str]
    channels: dict[str, str]  # channel name -> folder URI (s3:// in aws, file:// or a path locally)
    model_uri: str  # local runner: where SM_MODEL_DIR is
    output_uri: str  # local runner: where SM_OUTPUT_DATA_DIR is
    checkpoint_uri: str  # the run's checkpoints: a local folder, or the S3 prefix SageMaker syncs with

    def argv(self) -> list[str]:
        return [part for key, value in self.hyperparameters.items() for part in (f"--{key}", str(value))]


def run_local_training(python: str, call: TrainingCall, timeout_s: int, profile: str) -> dict[str, str]:
    """The training script as a subprocess with the SageMaker contract's variables set to local folders;
    returns where the model and the output data are, as the `train` task's result."""
    paths = {
        "model": storage.local_path(call.model_uri),
        "output": storage.local_path(call.output_uri),
        "checkpoints": storage.local_path(call.checkpoint_uri),
    }
    for path in paths.values():
        os.makedirs(path, exist_ok=True)
    contract = {
        "SM_MODEL_DIR": paths["model"],
        "SM_OUTPUT_DATA_DIR": paths["output"],
        "SM_CHECKPOINT_DIR": paths["checkpoints"],
        "SM_CHANNELS": ",".join(call.channels),
        **{f"SM_CHANNEL_{name.upper()}": storage.local_path(uri) for name, uri in call.channels.items()},
    }
    runner = SubprocessStepRunner(python=python, timeout_s=timeout_s, profile=profile)
    runner.run(StepCall(module=call.module), call.argv(), contract)
    return {"model_uri": call.model_uri, "output_uri": call.output_uri, "job": "local"}


def training_job_name(prefix: str) -> str:
    """A templated training job name (63 name-safe characters at most), unique per run and try."""
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", prefix).strip("-")[:24].rstrip("-")
    return stem + "-{{ ts_nodash | lower }}-{{ ti.try_number }}"


def sagemaker_training_config(
    call: TrainingCall, job_name: str, sagemaker: SageMakerTrainingSettings, profile: str = "aws"
) -> dict[str, Any]:
    """The CreateTrainingJob request: the training image runs `python -m <module> <hyperparameters>`.

    The hyperparameters are both the container's arguments (what the script parses) and the job's
    `HyperParameters` (what the console and the API show). Spot capacity is used with a checkpoint
    prefix per run, so an interrupted job resumes from its last checkpoint instead of starting over.
    """
    request: dict[str, Any] = {
        "TrainingJobName": job_name,
        "RoleArn": sagemaker.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": sagemaker.image_uri,
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["python", "-m", call.module],
            "ContainerArguments": call.argv(),
        },
        "HyperParameters": dict(call.hyperparameters),
        "InputDataConfig": [
            {
                "ChannelName": name,
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": uri,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for name, uri in call.channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": sagemaker.output_s3_uri},
        "ResourceConfig": {
            "InstanceType": sagemaker.instance_type,
            "InstanceCount": sagemaker.instance_count,
            "VolumeSizeInGB": sagemaker.volume_size_gb,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": sagemaker.max_runtime_s},
        "EnableManagedSpotTraining": sagemaker.use_spot,
        "CheckpointConfig": {
            "S3Uri": call.checkpoint_uri,
            "LocalPath": sagemaker.checkpoint_local_path,
        },
        "Environment": step_environment(
            {"LLMOPS_PROFILE": profile, "SM_CHECKPOINT_DIR": sagemaker.checkpoint_local_path}
        ),
        "Tags": [{"Key": "llmops:step", "Value": call.module}],
    }
    if sagemaker.use_spot:
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = sagemaker.max_wait_s
    return request
