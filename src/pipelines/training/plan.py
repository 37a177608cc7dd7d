"""What one fine-tuning run builds, trains and registers, and where each step writes, decided once on the
worker.

The run's inputs are pinned here: the golden-set and SFT-dataset versions (built fresh, or DVC versions
named in the trigger form), the base model and every hyperparameter (the profile's defaults, overridden
by the form). The heavy steps read this plan from a URI; nothing is re-decided downstream, so a retried
step sees exactly what the first attempt saw.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from common import storage
from common.ids import stable_hash
from common.settings import Settings, TrainingHyperparameters

# Trigger-form fields that override a hyperparameter of the profile; empty values keep the default.
HYPERPARAMETER_PARAMS = (
    "lora_rank",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "learning_rate",
    "num_train_epochs",
    "max_steps",
)


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != []


def hyperparameters(settings: Settings, params: Mapping[str, Any]) -> TrainingHyperparameters:
    """The profile's hyperparameters with the trigger form's overrides, validated as the script will."""
    merged = settings.training.hyperparameters.model_dump()
    merged.update({key: params[key] for key in HYPERPARAMETER_PARAMS if _given(params.get(key))})
    return TrainingHyperparameters(**merged)


def code_commit(home: Path) -> str:
    """The git commit of the code that plans the run: `LLMOPS_GIT_COMMIT` if set, the MWAA bundle's
    `BUILD_COMMIT`, or the checkout's HEAD; "unknown" when none of them says."""
    if os.environ.get("LLMOPS_GIT_COMMIT"):
        return os.environ["LLMOPS_GIT_COMMIT"]
    built = home / "BUILD_COMMIT"
    if built.is_file():
        return built.read_text(encoding="utf-8").strip()
    head = subprocess.run(["git", "-C", str(home), "rev-parse", "HEAD"], capture_output=True, text=True)
    return head.stdout.strip() if head.returncode == 0 else "unknown"


def plan_run(settings: Settings, run_id: str, logical_date: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The run's plan; raises ValueError on a trigger form that cannot be honoured."""
    stamp = "".join(ch for ch in logical_date[:19] if ch.isdigit())
    run_key = f"{stamp}-{stable_hash(run_id, length=8)}"
    lake = settings.lake_uri
    scratch = storage.join(lake, "staging", "training", run_key)
    work = storage.join(lake, "training", run_key)
    base_model = (params.get("base_model") or "").strip() or settings.training.base_model
    base_model_id = (params.get("base_model_id") or "").strip() or (
        settings.training.base_model_id if base_model == settings.training.base_model else base_model
    )
    # A retried or spot-interrupted job of this run resumes from these checkpoints; a new run starts afresh.
    sagemaker = settings.training.sagemaker if settings.steps.runner == "sagemaker" else None
    checkpoints = (
        storage.join(sagemaker.checkpoint_s3_uri, run_key) if sagemaker else storage.join(work, "checkpoints")
    )
    return {
        "run_key": run_key,
        "run_id": run_id,
        "git_commit": code_commit(settings.home),
        "lake_uri": lake,
        "golden_version": (params.get("golden_version") or "").strip() or None,
        "dataset_version": (params.get("dataset_version") or "").strip() or None,
        "base_model": base_model,
        "base_model_id": base_model_id,
        "hyperparameters": hyperparameters(settings, params).as_hyperparameters(),
        "plan_uri": storage.join(scratch, "plan.json"),
        "golden_result_uri": storage.join(scratch, "results", "golden.json"),
        "golden_uri": storage.join(work, "golden"),
        "dataset_uri": storage.join(work, "sft"),
        "dataset_result_uri": storage.join(scratch, "results", "dataset.json"),
        "train_channel": storage.join(work, "sft", "train"),
        "validation_channel": storage.join(work, "sft", "validation"),
        # Local runs write the model and the metrics here; SageMaker writes its own output path.
        "model_uri": storage.join(work, "model"),
        "output_uri": storage.join(work, "output"),
        "checkpoint_uri": checkpoints,
        "register_result_uri": storage.join(scratch, "results", "register.json"),
    }


def write_plan(plan: dict[str, Any]) -> dict[str, Any]:
    storage.write_json(plan["plan_uri"], plan)
    return plan


def scratch_uris(plan: Mapping[str, Any]) -> list[str]:
    """What a run stages and nothing needs once it has ended: the plan file and the run's copies of
    review data (the golden set, the SFT splits that were the training job's channels), each of them a
    DVC version. The dataset card and the result files stay for audit; the adapter, the metrics and the
    checkpoints are the model's and stay too."""
    return [plan["plan_uri"], plan["golden_uri"], plan["train_channel"], plan["validation_channel"]]


def remove_scratch(plan: Mapping[str, Any]) -> list[str]:
    """Delete the run's scratch (see `scratch_uris`); returns what was removed, for the task log."""
    uris = scratch_uris(plan)
    for uri in uris:
        storage.remove(uri)
    return uris


def training_artifacts(train_result: Mapping[str, Any]) -> dict[str, str]:
    """Where the trained adapter and the metrics file are, from the `train` task's result.

    The local runner returns the two URIs itself. SageMaker's operator returns the job's description:
    the model directory is packed as `<output path>/<job>/output/model.tar.gz` and the output data
    directory as `output.tar.gz` beside it.
    """
    if "Training" in train_result:
        job = train_result["Training"]
        if job.get("TrainingJobStatus") not in (None, "Completed"):
            raise ValueError(f"training job {job.get('TrainingJobName')} is {job.get('TrainingJobStatus')}")
        model = job["ModelArtifacts"]["S3ModelArtifacts"]
        return {
            "model_uri": model,
            "output_uri": model.rsplit("/", 1)[0] + "/output.tar.gz",
            "job": job.get("TrainingJobName", ""),
        }
    return {
        "model_uri": train_result["model_uri"],
        "output_uri": train_result["output_uri"],
        "job": train_result.get("job", "local"),
    }
