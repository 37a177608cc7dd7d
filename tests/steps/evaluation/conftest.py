"""The evaluation steps' shared world: a registry of two random-adapter versions of a tiny base model and a
versioned golden set, in a data folder of the module's own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mlflow.pyfunc import PythonModel

from common.data_versioning import DataRegistry
from common.settings import Settings, get_settings
from pipelines.evaluation import generate
from tests.steps.serving.test_local_vllm import _make_adapter

GOLDEN_ROWS = [
    {
        "example_id": f"golden-{i}",
        "product_id": f"P-{i}",
        "language": language,
        "profile": "mixed",
        "snippets": [
            {"star_rating": 5, "text": text},
            {"star_rating": 1, "text": "Broke after two weeks, and the seller never replied."},
        ],
        "target": {"pros": [{"text": "easy to use", "evidence": [1]}], "cons": [], "summary": "Easy to use."},
    }
    for i, (language, text) in enumerate(
        [
            ("en", "Really easy to set up, works great."),
            ("de", "Sehr einfach einzurichten, funktioniert super."),
            ("fr", "Très facile à installer, fonctionne très bien."),
        ]
    )
]


class Summarizer(PythonModel):
    """Stands for the registered summarizer: generation serves its adapter artifact, never runs it."""

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input


def register_version(settings: Settings, adapter: Path, tags: dict[str, str] | None = None) -> None:
    """A new version of the summarizer whose `adapter` artifact is `adapter`, as fine-tuning registers one."""
    import mlflow.pyfunc

    from common.tracking import experiment_id, mlflow_for

    mlflow = mlflow_for(settings)
    with mlflow.start_run(experiment_id=experiment_id(settings, "finetuning")):
        info = mlflow.pyfunc.log_model(
            name="model", python_model=Summarizer(), artifacts={"adapter": str(adapter)}, pip_requirements=[]
        )
        mlflow.register_model(info.model_uri, settings.registry.model_name, tags=tags or {})


@pytest.fixture(scope="session")
def register() -> Callable[[Settings, Path, dict[str, str] | None], None]:
    return register_version


@pytest.fixture(scope="module")
def world(
    serving_python: Path, tiny_toxicity_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A data folder with a golden version, two registered versions, and a tiny base model to serve."""

    from local_models import tiny_base

    root = tmp_path_factory.mktemp("evaluation-generate")
    base = tiny_base.build(root / "tiny-llama", seed=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMOPS_DATA_DIR", str(root / "data"))
        patch.setenv("LLMOPS_TRAINING__BASE_MODEL", str(base))
        patch.setenv("LLMOPS_SERVING__LOCAL__LOG_DIR", str(root / "logs"))
        patch.setenv(
            "LLMOPS_INGESTION__TOXICITY__CHECKPOINTS", json.dumps({"default": str(tiny_toxicity_checkpoint)})
        )
        patch.setenv(
            "LLMOPS_EVALUATION__SCAN__INJECTION_SAMPLES", "6"
        )  # giskard's prompts: a few suffice here
        get_settings.cache_clear()
        settings = get_settings()
        assert settings.sft is not None
        folder = root / "golden"
        folder.mkdir()
        (folder / generate.GOLDEN_FILE).write_text(
            "".join(json.dumps(row) + "\n" for row in GOLDEN_ROWS), encoding="utf-8"
        )
        registry = DataRegistry.from_settings(settings)
        registry.ensure_exists()
        tag = registry.version_directory(folder, settings.sft.golden.registry_path, "golden for a test").tag

        for seed in (1, 2):
            adapter = _make_adapter(base, root / f"adapter-{seed}", seed=seed)
            register_version(settings, adapter, {generate.GOLDEN_TAG: tag})
        yield settings
    get_settings.cache_clear()


@pytest.fixture
def set_alias(world: Settings) -> Callable[[str, str | None], None]:
    """Point an alias of the world's registry at a version, or remove it (None)."""
    from mlflow import MlflowClient

    def move(alias: str, version: str | None) -> None:
        client = MlflowClient(tracking_uri=world.tracking.uri)
        name = world.registry.model_name
        if version is None:
            if alias in client.get_registered_model(name).aliases:
                client.delete_registered_model_alias(name, alias)
        else:
            client.set_registered_model_alias(name, alias, version)

    return move
