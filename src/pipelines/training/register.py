"""The `register` heavy step: one MLflow run per training, and a registered `candidate` model version.

    python -m pipelines.training.register --plan-uri URI --model-uri URI --metrics-uri URI --result-uri URI

`--model-uri` is the training script's model directory (the adapter and its tokenizer) and
`--metrics-uri` its output-data directory (`metrics.json`): local folders, or the `model.tar.gz` and
`output.tar.gz` a SageMaker training job leaves in S3.

The run records the hyperparameters, the per-step train and eval losses, the lineage (SFT dataset and
golden-set DVC versions, git commit, prompt version and hash, base model id) and the metrics file. The
model version bundles the adapter, the base model reference, the prompt file and the inference
configuration (`pipelines.training.summarizer_model`). It is then loaded back from the registry, the way
every consumer will load it, to answer a few validation examples; those answers are logged with the run
as its sample summaries. The version gets the lineage as tags and the `candidate` alias, and the alias's
adapter is exported to the serving location (`common.serving.adapters`), where servers load it.

One training output, one version, however often `register` runs. The version is created already
tagged with the output's content key (the sha256 of the model folder's files and the metrics file), in
the one registry call that creates it, so a re-run finds it whatever step the earlier try died in: a
finished registration is returned as it is; an unfinished one (the version exists, but not yet its
alias, sample summaries or result) is completed in its own run, and no second version is created.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from common import storage
from common.prompts import load_prompt
from common.serving.adapters import export_alias
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from common.tracking import (
    BASE_MODEL_ID_TAG,
    CONTENT_TAG,
    PROMPT_SHA256_TAG,
    PROMPT_VERSION_TAG,
    experiment_id,
    mlflow_for,
)

log = logging.getLogger(__name__)

RUN_KEY_TAG = "llmops.run_key"
VERSION_TAG = "llmops.registered_version"
RESULT_TAG = "llmops.result"  # set on the run last: a run with it has finished registering
# The inference libraries a loaded version needs; the versions are those of the environment that logs it.
MODEL_REQUIREMENTS = ("torch", "transformers", "peft", "safetensors", "pandas", "pyyaml", "pydantic")


def materialize(uri: str, workdir: Path, name: str) -> Path:
    """A local folder with the content of `uri`: a folder as it is, a (remote) .tar.gz unpacked."""
    if uri.endswith(".tar.gz"):
        archive = workdir / f"{name}.tar.gz"
        with storage.open_uri(uri, "rb") as source, archive.open("wb") as target:
            target.write(source.read())
        folder = workdir / name
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
        return folder
    if storage.is_local(uri):
        return Path(storage.local_path(uri))
    folder = workdir / name
    storage.download_dir(uri, str(folder))
    return folder


def _dvc(result: dict[str, Any]) -> dict[str, str]:
    version = result.get("dvc") or {}
    return {"tag": version.get("tag", ""), "rev": version.get("rev", "")}


def lineage(settings: Settings, plan: dict[str, Any], metrics: dict[str, Any]) -> dict[str, str]:
    """Everything needed to reproduce the version, as tags of both the run and the version."""
    prompt = load_prompt()
    dataset = _dvc(storage.read_json(plan["dataset_result_uri"]))
    golden = _dvc(storage.read_json(plan["golden_result_uri"]))
    return {
        "llmops.dataset.dvc_tag": dataset["tag"],
        "llmops.dataset.dvc_rev": dataset["rev"],
        "llmops.golden.dvc_tag": golden["tag"],
        "llmops.golden.dvc_rev": golden["rev"],
        "llmops.dvc.registry_url": settings.dvc.registry_url,
        "llmops.git_commit": plan["git_commit"],
        "llmops.prompt.name": prompt.name,
        PROMPT_VERSION_TAG: str(prompt.version),
        PROMPT_SHA256_TAG: prompt.sha256,
        "llmops.base_model": plan["base_model"],
        BASE_MODEL_ID_TAG: plan["base_model_id"],
        "llmops.trained_prompt_sha256": str(metrics.get("prompt_sha256", "")),
    }


def version_description(settings: Settings, plan: dict[str, Any], tags: dict[str, str]) -> str:
    """What a reader of the registry sees first: what the version is, what it was trained on, and, for a
    base model built by `local_models` (its folder holds a `build.json`), that it is a synthetic stand-in."""
    text = (
        f"A LoRA adapter on {plan['base_model_id']} that summarizes a product's reviews as pros and cons "
        f"citing their snippets (prompt {tags['llmops.prompt.name']} v{tags[PROMPT_VERSION_TAG]}), "
        f"fine-tuned on SFT dataset {tags['llmops.dataset.dvc_tag']}; golden set "
        f"{tags['llmops.golden.dvc_tag']}."
    )
    base = str(plan["base_model"])
    build = settings.resolve_path(base) / "build.json" if "://" not in base else None
    if build is not None and build.is_file():
        about = json.loads(build.read_text(encoding="utf-8")).get("about")
        if about:
            text += f" The base model is {about}."
    return text


def log_losses(mlflow: Any, metrics: dict[str, Any]) -> None:
    """The training script's per-step losses as MLflow metric histories (step on the x axis)."""
    for name in ("train_loss", "eval_loss"):
        for point in metrics.get(f"{name}_history", []):
            mlflow.log_metric(name, float(point["value"]), step=int(point["step"]))
    summary = {
        key: value
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    mlflow.log_metrics({f"final.{key}": float(value) for key, value in summary.items()})


def validation_samples(dataset_uri: str, count: int) -> list[dict[str, Any]]:
    """The first `count` validation examples (the file's order is deterministic)."""
    samples: list[dict[str, Any]] = []
    for path in sorted(storage.list_files(storage.join(dataset_uri, "validation"))):
        with storage.open_uri(path, "rb") as handle:
            for line in handle:
                if len(samples) >= count:
                    return samples
                samples.append(json.loads(line))
    return samples


def content_key(model_dir: Path, metrics_file: Path) -> str:
    """The sha256 of a training output: every file of the model folder, by relative path, and the
    metrics file. It does not depend on where the output was read from (a folder, a SageMaker
    `model.tar.gz`), only on what it holds."""
    digest = hashlib.sha256()
    parts = [(f"model/{p.relative_to(model_dir).as_posix()}", p) for p in sorted(model_dir.rglob("*"))]
    parts = [part for part in parts if part[1].is_file()] + [("output/metrics.json", metrics_file)]
    for name, path in parts:
        with path.open("rb") as handle:
            digest.update(f"{name}\0{hashlib.file_digest(handle, 'sha256').hexdigest()}\n".encode())
    return digest.hexdigest()


def registered_version(client: Any, model_name: str, key: str) -> Any | None:
    """The version an earlier `register` created from the same training output, if any."""
    versions = client.search_model_versions(f"name = '{model_name}' and tags.`{CONTENT_TAG}` = '{key}'")
    return min(versions, key=lambda v: int(v.version)) if versions else None


def register(plan: dict[str, Any], model_uri: str, metrics_uri: str, settings: Settings) -> dict[str, Any]:
    import mlflow.pyfunc
    from mlflow import MlflowClient

    from pipelines.training.summarizer_model import ADAPTER, INFERENCE, PROMPT, SummarizerModel

    mlflow = mlflow_for(settings)
    client = MlflowClient()
    registry = settings.registry
    experiment = experiment_id(settings, "finetuning")

    with tempfile.TemporaryDirectory(prefix="register-") as tmp:
        work = Path(tmp)
        adapter = materialize(model_uri, work, "model")
        output = materialize(metrics_uri, work, "output")
        key = content_key(adapter, output / "metrics.json")
        found = registered_version(client, registry.model_name, key)
        if found is not None:
            finished = client.get_run(found.run_id).data.tags.get(RESULT_TAG)
            if finished:
                log.info("this training output is already registered as version %s", found.version)
                return dict(json.loads(finished))
            log.info("completing the registration of version %s, which an earlier try began", found.version)
        metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
        tags = lineage(settings, plan, metrics)
        if tags["llmops.trained_prompt_sha256"] not in ("", tags[PROMPT_SHA256_TAG]):
            raise ValueError("the adapter was trained with another prompt file than the one in this code")
        inference = {
            "base_model": plan["base_model"],
            "base_model_id": plan["base_model_id"],
            "prompt_version": tags[PROMPT_VERSION_TAG],
            "prompt_sha256": tags[PROMPT_SHA256_TAG],
            "generation": {"max_new_tokens": registry.max_new_tokens, "do_sample": False},
            "torch_dtype": registry.torch_dtype,
            "cache_dir": str(settings.resolve_path(registry.cache_dir)),
        }
        (work / "inference.json").write_text(json.dumps(inference, indent=2), encoding="utf-8")

        run_args = (
            {"run_id": found.run_id}
            if found is not None
            else {"experiment_id": experiment, "run_name": f"finetune-{plan['run_key']}"}
        )
        with mlflow.start_run(**run_args) as run:
            if found is None:
                mlflow.set_tags(
                    {RUN_KEY_TAG: plan["run_key"], "llmops.airflow_run_id": plan["run_id"], **tags}
                )
                mlflow.log_params(plan["hyperparameters"])
                log_losses(mlflow, metrics)
                mlflow.log_artifact(str(output / "metrics.json"), "training")
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=SummarizerModel(),
                    artifacts={
                        ADAPTER: str(adapter),
                        PROMPT: str(load_prompt().path),
                        INFERENCE: str(work / "inference.json"),
                    },
                    pip_requirements=_requirements(),
                )
                # The content key is written with the version, in one call: no version exists without it.
                created = mlflow.register_model(
                    info.model_uri, registry.model_name, tags={CONTENT_TAG: key, **tags}
                )
                version = str(created.version)
            else:
                version = str(found.version)
            client.update_model_version(
                registry.model_name, version, description=version_description(settings, plan, tags)
            )
            client.set_model_version_tag(registry.model_name, version, "llmops.lifecycle", "candidate")
            client.set_registered_model_alias(registry.model_name, registry.candidate_alias, version)
            # The serving location follows the alias (a re-run finds it exported and copies nothing).
            exported = export_alias(settings, registry.candidate_alias)
            registered_uri = f"models:/{registry.model_name}/{version}"

            samples = sample_summaries(registered_uri, plan["dataset_uri"], registry.sample_summaries)
            mlflow.log_table(samples, "samples/summaries.json")
            result = {
                "model_name": registry.model_name,
                "version": version,
                "model_uri": registered_uri,
                "alias": registry.candidate_alias,
                "alias_uri": f"models:/{registry.model_name}@{registry.candidate_alias}",
                "serving_uri": exported.uri if exported is not None else None,
                "mlflow_run_id": run.info.run_id,
                "adapter_bytes": metrics.get("adapter_bytes"),  # the LoRA weights file
                "model_dir_bytes": sum(f.stat().st_size for f in adapter.rglob("*") if f.is_file()),
                "train_seconds": metrics.get("train_seconds"),
                "first_train_loss": metrics.get("first_train_loss"),
                "last_train_loss": metrics.get("last_train_loss"),
                "sample_format_failures": sum(1 for s in samples["format_error"] if s),
                "content_sha256": key,
                "lineage": tags,
            }
            mlflow.set_tags({VERSION_TAG: version, RESULT_TAG: json.dumps(result)})
    storage.write_json(
        storage.join(settings.lake_uri, "models", "candidates", f"{registry.model_name}-v{version}.json"),
        result,
    )
    log.info("registered %s version %s as %s", registry.model_name, version, registry.candidate_alias)
    return result


def sample_summaries(model_uri: str, dataset_uri: str, count: int) -> dict[str, list[Any]]:
    """Answers of the version loaded back from the registry to validation examples, beside the references."""
    import mlflow.pyfunc
    import pandas as pd

    examples = validation_samples(dataset_uri, count)
    model = mlflow.pyfunc.load_model(model_uri)
    answers = model.predict(pd.DataFrame({"snippets": [e["snippets"] for e in examples]})) if examples else []
    return {
        "product_id": [e["product_id"] for e in examples],
        "language": [e.get("language", "") for e in examples],
        "reference": [json.dumps(e["target"], ensure_ascii=False) for e in examples],
        "answer": [a["text"] for a in answers],
        "format_error": [a["format_error"] or "" for a in answers],
    }


def _requirements() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    pinned = []
    for name in MODEL_REQUIREMENTS:
        try:
            pinned.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pinned


def _run(args: Any) -> dict[str, Any]:
    settings = get_settings()
    plan = storage.read_json(args.plan_uri)
    return register(plan, args.model_uri, args.metrics_uri, settings)


def main(argv: list[str] | None = None) -> int:
    parser = step_parser(__doc__.splitlines()[0])
    parser.add_argument("--plan-uri", required=True, help="the fine-tuning plan (pipelines.training.plan)")
    parser.add_argument("--model-uri", required=True, help="the trained adapter: a folder or model.tar.gz")
    parser.add_argument("--metrics-uri", required=True, help="the output data: a folder or output.tar.gz")
    return run_step(_run, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
