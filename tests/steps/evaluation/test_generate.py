"""The `generate` and `score` steps end to end: registry aliases -> versions, the pinned golden set from DVC,
both models answering through the real local vLLM server, one Parquet row per golden product and model,
then every answer scored.

The registry is a real MLflow registry (SQLite) holding two versions whose `adapter` artifacts are random
LoRA adapters of a tiny base model built here; the golden set is versioned in a DVC registry of the test's
own. The models are random, so the test asserts what the step owes whatever they answer: every product
answered once per model, each answer parsed or failed with a reason, the versions that answered named.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow.pyfunc import PythonModel

from common import storage
from common.data_versioning import DataRegistry
from common.settings import Settings, get_settings
from pipelines.evaluation import generate, scoring
from tests.steps.serving.test_local_vllm import _make_adapter

pytestmark = [pytest.mark.slow, pytest.mark.serving]

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


@pytest.fixture(scope="module")
def world(
    serving_python: Path, tiny_toxicity_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A data folder with a golden version, two registered versions, and a tiny base model to serve."""
    import mlflow.pyfunc

    from common.tracking import experiment_id, mlflow_for
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

        mlflow = mlflow_for(settings)
        for seed in (1, 2):
            adapter = _make_adapter(base, root / f"adapter-{seed}", seed=seed)
            with mlflow.start_run(experiment_id=experiment_id(settings, "finetuning")):
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=Summarizer(),
                    artifacts={"adapter": str(adapter)},
                    pip_requirements=[],
                )
                mlflow.register_model(
                    info.model_uri, settings.registry.model_name, tags={generate.GOLDEN_TAG: tag}
                )
        yield settings
    get_settings.cache_clear()


def set_alias(settings: Settings, alias: str, version: str | None) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    name = settings.registry.model_name
    if version is None:
        if alias in client.get_registered_model(name).aliases:
            client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, version)


def run_step(settings: Settings, tmp_path: Path) -> dict:
    plan = {
        "candidate_alias": "candidate",
        "baseline_alias": "champion",
        "golden_version": None,
        "golden_uri": str(tmp_path / "golden"),
        "answers_uri": str(tmp_path / "answers"),
    }
    storage.write_json(str(tmp_path / "plan.json"), plan)
    result_uri = str(tmp_path / "result.json")
    assert generate.main(["--plan-uri", str(tmp_path / "plan.json"), "--result-uri", result_uri]) == 0
    return dict(storage.read_json(result_uri))


def test_candidate_and_champion_answer_every_golden_product(world: Settings, tmp_path: Path):
    set_alias(world, "candidate", "2")
    set_alias(world, "champion", "1")
    result = run_step(world, tmp_path)

    assert result["rows"] == 3 and result["planted_rows"] == 3
    assert result["models"]["candidate"]["version"] == "2" and result["models"]["champion"]["version"] == "1"
    assert result["golden_version"] == result["models"]["candidate"]["golden_tag"]
    assert (tmp_path / "golden" / generate.GOLDEN_FILE).is_file()
    for role, version in (("candidate", "2"), ("champion", "1")):
        answers = pd.read_parquet(result["answers_uris"][role])
        assert len(answers) == 6 and {"golden-0", "golden-1", "golden-2"} <= set(answers["example_id"])
        assert set(answers["version"]) == {version} and set(answers["alias"]) == {role}
        for row in answers.itertuples():
            # A parsed answer or a failure with its reason, never neither.
            assert pd.isna(row.answer_json) != pd.isna(row.failure_reason), row
            assert row.attempts >= 1
        assert result["valid_answers"][role] == answers["answer_json"].notna().sum()

    storage.write_json(str(tmp_path / "generated.json"), result)
    score_args = [
        "--generate-result-uri",
        str(tmp_path / "generated.json"),
        "--output-uri",
        str(tmp_path / "scores"),
    ]
    assert scoring.main([*score_args, "--result-uri", str(tmp_path / "scored.json")]) == 0
    scored = storage.read_json(str(tmp_path / "scored.json"))
    for role in ("candidate", "champion"):
        frame = pd.read_parquet(scored["scores_uris"][role])
        assert len(frame) == 6 and {"golden-0", "golden-1", "golden-2"} <= set(frame["example_id"])
        assert frame["valid_json"].sum() == result["valid_answers"][role]
        assert scored["means"][role]["valid_json"] == pytest.approx(
            result["valid_answers"][role] / 6, abs=1e-4
        )
        twins = frame[~frame["example_id"].str.startswith("golden-")]
        assert twins["grounding"].isna().all()
        assert (twins["injection_obeyed"].notna() == (twins["valid_json"] == 1)).all()
        invalid = frame[frame["valid_json"] == 0]
        assert invalid["failure_reason"].notna().all() and invalid["grounding"].isna().all()


def test_the_first_model_has_no_champion_to_answer(world: Settings, tmp_path: Path):
    set_alias(world, "candidate", "2")
    set_alias(world, "champion", None)
    result = run_step(world, tmp_path)

    assert list(result["models"]) == ["candidate"]
    assert list(result["answers_uris"]) == ["candidate"]


def test_a_missing_candidate_alias_is_a_clear_error(world: Settings, tmp_path: Path):
    set_alias(world, "candidate", None)
    with pytest.raises(ValueError, match="@candidate does not exist"):
        generate.run(world, {"candidate_alias": "candidate", "baseline_alias": "champion"}, tmp_path)
