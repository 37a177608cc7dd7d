"""The `generate` and `score` steps end to end: registry aliases -> versions, the pinned golden set from DVC,
both models answering through the real local vLLM server, one Parquet row per golden product and model,
then every answer scored.

The registry is a real MLflow registry (SQLite) holding two versions whose `adapter` artifacts are random
LoRA adapters of a tiny base model built here; the golden set is versioned in a DVC registry of the test's
own. The models are random, so the test asserts what the step owes whatever they answer: every product
answered once per model, each answer parsed or failed with a reason, the versions that answered named.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from common import storage
from common.settings import Settings
from pipelines.evaluation import generate, scoring

pytestmark = [pytest.mark.slow, pytest.mark.serving]


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


def test_candidate_and_champion_answer_every_golden_product(world: Settings, set_alias, tmp_path: Path):
    set_alias("candidate", "2")
    set_alias("champion", "1")
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

    # The scan step, in the evaluation environment (giskard, ragas) as the DAG runs it, against the
    # candidate served by a vLLM server of its own.
    from common.steps import StepCall, SubprocessStepRunner
    from pipelines.evaluation import scan

    scan_args = {
        "generate_result_uri": str(tmp_path / "generated.json"),
        "output_uri": str(tmp_path / "scan"),
    }
    runner = SubprocessStepRunner.from_settings(world, "evaluation")
    runner.run(
        StepCall(
            "pipelines.evaluation.scan",
            {**scan_args, "result_uri": str(tmp_path / "scan.json")},
            "evaluation",
        )
    )
    scanned = storage.read_json(str(tmp_path / "scan.json"))
    behaviour = storage.read_json(str(tmp_path / "scan" / scan.BEHAVIOUR_FILE))
    assert (
        set(behaviour)
        == set(scanned["behaviour"])
        == {
            "typo_invariance",
            "order_invariance",
            "complaint_directionality",
        }
    )
    for name, test in behaviour.items():
        assert [r["example_id"] for r in test["rows"]] == ["golden-0", "golden-1", "golden-2"]
        assert scanned["behaviour"][name] == pytest.approx(
            sum(r["passed"] for r in test["rows"]) / 3, abs=1e-4
        )
    assert scanned["injection_scan"]["issues"] == len(scanned["injection_scan"]["groups"])
    assert "<html" in (tmp_path / "scan" / scan.REPORT_FILE).read_text(encoding="utf-8").lower()
    similarity = (
        pd.read_parquet(tmp_path / "scan" / scan.REFERENCE_FILE)
        if result["valid_answers"]["candidate"]
        else None
    )
    if similarity is not None and len(similarity):
        assert similarity[["rouge_l", "chrf", "string_similarity"]].stack().between(0, 1).all()
        assert set(similarity["example_id"]) <= {"golden-0", "golden-1", "golden-2"}  # twins are not compared


def test_the_first_model_has_no_champion_to_answer(world: Settings, set_alias, tmp_path: Path):
    set_alias("candidate", "2")
    set_alias("champion", None)
    result = run_step(world, tmp_path)

    assert list(result["models"]) == ["candidate"]
    assert list(result["answers_uris"]) == ["candidate"]


def test_a_missing_candidate_alias_is_a_clear_error(world: Settings, set_alias, tmp_path: Path):
    set_alias("candidate", None)
    with pytest.raises(ValueError, match="@candidate does not exist"):
        generate.run(world, {"candidate_alias": "candidate", "baseline_alias": "champion"}, tmp_path)
