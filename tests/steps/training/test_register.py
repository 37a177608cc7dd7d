"""`register` is idempotent by content: one training output is one model version, and the `candidate`
alias is set once, however often and wherever a try of the step died.

The training output is a LoRA adapter of the tiny base model, made without training (registration does
not care how good it is), with its tokenizer and a metrics file. Every test has its own data folder, so
its own MLflow tracking store and registry (SQLite), as the local profile runs them.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from common import prompts, storage
from common.settings import Settings, get_settings
from local_models import tiny_base

RUN_KEY = "20261201030000-abcd1234"


@pytest.fixture(scope="module")
def training_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What a training job leaves: the model folder (adapter and tokenizer) and the output data folder
    (`metrics.json`), beside the base model and an SFT dataset with one validation example."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    root = tmp_path_factory.mktemp("training-output")
    base = tiny_base.build(root / "base", seed=0)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    get_peft_model(AutoModelForCausalLM.from_pretrained(base), lora).save_pretrained(root / "model")
    AutoTokenizer.from_pretrained(base).save_pretrained(root / "model")
    metrics = {
        "train_loss_history": [{"step": 1, "value": 2.5}, {"step": 2, "value": 2.0}],
        "first_train_loss": 2.5,
        "last_train_loss": 2.0,
        "prompt_sha256": prompts.content_hash(),
    }
    (root / "output").mkdir()
    (root / "output" / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    example = {
        "example_id": "p1-0",
        "product_id": "p1",
        "language": "en",
        "snippets": [{"review_id": "r1", "star_rating": 5, "text": "Great kettle, boils fast."}],
        "target": {"pros": [], "cons": [], "summary": "Boils fast."},
    }
    validation = root / "sft" / "validation"
    validation.mkdir(parents=True)
    (validation / "validation.jsonl").write_text(json.dumps(example) + "\n", encoding="utf-8")
    return {"base": base, "model": root / "model", "output": root / "output", "dataset": root / "sft"}


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """A data folder, hence a tracking store and registry, of the test's own; short sample answers."""
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMOPS_REGISTRY__SAMPLE_SUMMARIES", "1")
    monkeypatch.setenv("LLMOPS_REGISTRY__MAX_NEW_TOKENS", "4")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def plan_for(output: dict[str, Path], folder: Path, run_key: str = RUN_KEY) -> dict[str, Any]:
    """What the fine-tuning DAG's plan gives `register`, with the dataset and golden steps' results."""
    results = {"dataset": ("sft-summaries-abc123", "a" * 40), "golden": ("golden-summaries-def456", "b" * 40)}
    for name, (tag, rev) in results.items():
        storage.write_json(str(folder / f"{name}.json"), {"dvc": {"tag": tag, "rev": rev}})
    return {
        "run_key": run_key,
        "run_id": "manual__test",
        "git_commit": "c" * 40,
        "base_model": str(output["base"]),
        "base_model_id": "local/tiny-llama-seed0",
        "hyperparameters": {"lora_rank": "4", "max_steps": "2"},
        "dataset_uri": str(output["dataset"]),
        "dataset_result_uri": str(folder / "dataset.json"),
        "golden_result_uri": str(folder / "golden.json"),
    }


def versions(settings: Settings) -> list[str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    found = client.search_model_versions(f"name = '{settings.registry.model_name}'")
    return [str(number) for number in sorted(int(v.version) for v in found)]


def candidate(settings: Settings) -> str | None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    try:
        name, alias = settings.registry.model_name, settings.registry.candidate_alias
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def files(folder: Path) -> list[str]:
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


def served_candidate(settings: Settings) -> tuple[str, list[str]]:
    """The version the serving location holds for `candidate`, and the files of its adapter folder."""
    folder = Path(settings.serving.adapters_uri, settings.registry.candidate_alias)
    version = json.loads((folder / "serving.json").read_text(encoding="utf-8"))["version"]
    return version, sorted(files(folder / f"v{version}"))


def runs(settings: Settings) -> int:
    import mlflow

    from common.tracking import experiment_id

    return len(mlflow.search_runs([experiment_id(settings, "finetuning")], output_format="list"))


def tar_gz(folder: Path, archive: Path) -> str:
    """The folder packed as SageMaker packs `SM_MODEL_DIR` and `SM_OUTPUT_DATA_DIR`."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False)
    return str(archive)


def test_the_same_training_output_registers_one_version(training_output, settings, tmp_path):
    from pipelines.training.register import register

    plan = plan_for(training_output, tmp_path)
    model, output = str(training_output["model"]), str(training_output["output"])
    first = register(plan, model, output, settings)
    assert (versions(settings), candidate(settings)) == (["1"], first["version"])
    assert served_candidate(settings) == ("1", sorted(files(training_output["model"])))
    assert first["serving_uri"] == storage.join(settings.serving.adapters_uri, "candidate", "v1")

    assert register(plan, model, output, settings) == first
    # The same files read from SageMaker's archives, by a run with another key, are the same output.
    again = register(
        plan_for(training_output, tmp_path, run_key="20261202030000-ffff0000"),
        tar_gz(training_output["model"], tmp_path / "model.tar.gz"),
        tar_gz(training_output["output"], tmp_path / "output.tar.gz"),
        settings,
    )
    assert again == first
    assert (versions(settings), candidate(settings), runs(settings)) == (["1"], "1", 1)


@pytest.mark.parametrize(
    "dies_in",
    [
        "mlflow.MlflowClient.set_registered_model_alias",  # the version exists, no alias yet
        "pipelines.training.register.sample_summaries",  # the alias is set, no result yet
    ],
)
def test_a_rerun_after_a_try_died_midway_completes_the_same_version(
    training_output, settings, tmp_path, monkeypatch, dies_in
):
    from pipelines.training.register import register

    plan = plan_for(training_output, tmp_path)
    model, output = str(training_output["model"]), str(training_output["output"])

    def die(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("the tracking server went away")

    with monkeypatch.context() as patch:
        patch.setattr(dies_in, die)
        with pytest.raises(ConnectionError):
            register(plan, model, output, settings)
    assert versions(settings) == ["1"]

    result = register(plan, model, output, settings)
    assert result["version"] == "1"
    assert (versions(settings), candidate(settings), runs(settings)) == (["1"], "1", 1)
    assert register(plan, model, output, settings) == result


def test_another_training_output_is_a_new_version(training_output, settings, tmp_path):
    from pipelines.training.register import register

    plan = plan_for(training_output, tmp_path)
    register(plan, str(training_output["model"]), str(training_output["output"]), settings)
    retrained = tmp_path / "retrained"
    shutil.copytree(training_output["output"], retrained)
    metrics = json.loads((retrained / "metrics.json").read_text(encoding="utf-8"))
    (retrained / "metrics.json").write_text(json.dumps({**metrics, "last_train_loss": 1.5}), encoding="utf-8")

    second = register(plan, str(training_output["model"]), str(retrained), settings)
    assert second["version"] == "2"
    assert (versions(settings), candidate(settings)) == (["1", "2"], "2")
    # The serving location follows the alias: the new version only.
    assert served_candidate(settings) == ("2", sorted(files(training_output["model"])))
    assert sorted(p.name for p in Path(settings.serving.adapters_uri, "candidate").iterdir()) == [
        "serving.json",
        "v2",
    ]


def test_a_version_says_what_it_is_and_a_synthetic_base_says_so(training_output, settings, tmp_path):
    from mlflow import MlflowClient

    from pipelines.training.register import register

    plan = plan_for(training_output, tmp_path)
    base = tmp_path / "built-base"
    shutil.copytree(training_output["base"], base)
    (base / "build.json").write_text(json.dumps({"about": "a small model trained on sample data"}))
    plan["base_model"] = str(base)
    result = register(plan, str(training_output["model"]), str(training_output["output"]), settings)

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    description = client.get_model_version(result["model_name"], result["version"]).description
    assert "local/tiny-llama-seed0" in description
    assert "sft-summaries-abc123" in description and "golden-summaries-def456" in description
    assert description.endswith("The base model is a small model trained on sample data.")
