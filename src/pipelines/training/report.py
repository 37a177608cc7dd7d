"""What a fine-tuning run hands over: the `summarizer_candidate` Asset event's `extra`.

Evaluation, started by that event, reads the candidate's registry URI from here, and an analyst reading
the event in the Airflow UI sees which data, prompt and base model the version was trained on.
"""

from __future__ import annotations

from typing import Any

from common import storage


def run_report(plan: dict[str, Any]) -> dict[str, Any]:
    registered = storage.read_json(plan["register_result_uri"])
    dataset = storage.read_json(plan["dataset_result_uri"])
    return {
        "model_name": registered["model_name"],
        "version": registered["version"],
        "model_uri": registered["model_uri"],
        "alias": registered["alias"],
        "mlflow_run_id": registered["mlflow_run_id"],
        "dataset_version": (dataset.get("dvc") or {}).get("tag"),
        "dataset_counts": dataset.get("counts"),
        "golden_version": registered["lineage"]["llmops.golden.dvc_tag"],
        "prompt_version": registered["lineage"]["llmops.prompt.version"],
        "prompt_sha256": registered["lineage"]["llmops.prompt.sha256"],
        "base_model_id": registered["lineage"]["llmops.base_model_id"],
        "first_train_loss": registered["first_train_loss"],
        "last_train_loss": registered["last_train_loss"],
        "adapter_bytes": registered["adapter_bytes"],
        "model_dir_bytes": registered["model_dir_bytes"],
        "train_seconds": registered["train_seconds"],
    }
