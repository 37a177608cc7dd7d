"""MLflow: where runs go, set explicitly from the profile, never from whatever the environment holds.

Locally the tracking store is a SQLite file and artifacts a folder under the data directory; in aws the
tracking server named by the profile. Experiments are named `<prefix>/<pipeline>` so analysts find every
pipeline's runs side by side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.settings import Settings

# What a registered summarizer version carries that others than its registration read (serving exports
# its adapter, evaluation and lineage its prompt and base model): version tags, and the pyfunc artifact
# that holds the LoRA adapter.
CONTENT_TAG = "llmops.content_sha256"  # the training output the version was registered from
PROMPT_VERSION_TAG = "llmops.prompt.version"
PROMPT_SHA256_TAG = "llmops.prompt.sha256"
BASE_MODEL_ID_TAG = "llmops.base_model_id"
ADAPTER_ARTIFACT = "adapter"


def mlflow_for(settings: Settings) -> Any:
    """The mlflow module, pointed at the profile's tracking store."""
    import mlflow

    uri = settings.tracking.uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    return mlflow


def experiment_id(settings: Settings, pipeline: str) -> str:
    """The pipeline's experiment, created on first use with the profile's artifact root."""
    mlflow = mlflow_for(settings)
    name = f"{settings.tracking.experiment_prefix}/{pipeline}"
    existing = mlflow.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    root = settings.tracking.artifact_root
    location = None
    if root:
        location = root if "://" in root else Path(root, pipeline).resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)
