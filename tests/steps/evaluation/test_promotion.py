"""Alias moves with their audit trail: challenger, promotion (champion -> previous), rollback, and refusals.

A real MLflow registry (SQLite) holds three versions whose `adapter` artifacts are small folders; the
serving location is a folder of the test's own, so exports and withdrawals are seen on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from common import storage
from common.settings import Settings, get_settings
from pipelines.evaluation import promotion
from pipelines.evaluation.promotion import PromotionError, make_challenger, promote, read_audit, rollback


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, register) -> Iterator[Settings]:
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LLMOPS_SERVING__ADAPTERS_URI", str(tmp_path / "serving"))
    get_settings.cache_clear()
    settings = get_settings()
    for version in ("1", "2", "3"):
        adapter = tmp_path / f"adapter-{version}"
        adapter.mkdir()
        (adapter / "adapter_config.json").write_text(f'{{"r": {version}}}', encoding="utf-8")
        register(settings, adapter, None)
    yield settings
    get_settings.cache_clear()


def aliases(settings: Settings) -> dict[str, str]:
    from mlflow import MlflowClient

    found = MlflowClient().get_registered_model(settings.registry.model_name).aliases
    return {alias: str(version) for alias, version in found.items()}


def served_version(settings: Settings, alias: str) -> str | None:
    manifest = storage.join(settings.serving.adapters_uri, alias, "serving.json")
    return storage.read_json(manifest)["version"] if storage.exists(manifest) else None


def test_a_first_model_becomes_champion_with_nothing_to_fall_back_to(settings: Settings):
    make_challenger(settings, "1", actor="gate", evaluation_run_id="run-1")
    assert aliases(settings) == {"challenger": "1"} and served_version(settings, "challenger") == "1"

    record = promote(
        settings, "1", actor="policy:auto-approve", reason="first model", load_test_report_uri="r.json"
    )

    assert aliases(settings) == {"champion": "1"}
    assert served_version(settings, "champion") == "1" and served_version(settings, "challenger") is None
    assert record["moves"] == [
        {"alias": "champion", "from_version": None, "to_version": "1"},
        {"alias": "challenger", "from_version": "1", "to_version": None},
    ]
    with pytest.raises(PromotionError, match="nothing to roll back to"):
        rollback(settings, actor="oncall", reason="bad answers")


def test_promotion_keeps_the_old_champion_as_previous_and_rollback_restores_it(settings: Settings):
    make_challenger(settings, "1", actor="gate", evaluation_run_id="run-1")
    promote(settings, "1", actor="anna", reason="approved")
    make_challenger(settings, "2", actor="gate", evaluation_run_id="run-2")
    promote(
        settings,
        "2",
        actor="ben",
        reason="approved",
        evaluation_run_id="run-2",
        load_test_report_uri="lt.json",
    )

    assert aliases(settings) == {"champion": "2", "previous": "1"}
    record = rollback(settings, actor="oncall", reason="grounding fell on polarized products")

    assert aliases(settings) == {"champion": "1"}
    assert served_version(settings, "champion") == "1"
    assert record["moves"] == [
        {"alias": "champion", "from_version": "2", "to_version": "1"},
        {"alias": "previous", "from_version": "1", "to_version": None},
    ]
    trail = read_audit(settings)
    assert [r["action"] for r in trail] == ["challenger", "promote", "challenger", "promote", "rollback"]
    assert trail[3]["actor"] == "ben" and trail[3]["load_test_report_uri"] == "lt.json"
    assert trail[3]["evaluation_run_id"] == "run-2"
    assert trail[-1]["reason"] == "grounding fell on polarized products"
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version(settings.registry.model_name, "1")
    assert version.tags[promotion.AUDIT_TAG] == trail[-1]["id"]


def test_only_the_challenger_is_promoted(settings: Settings):
    make_challenger(settings, "2", actor="gate", evaluation_run_id="run-2")

    with pytest.raises(PromotionError, match="version 3 is not the challenger"):
        promote(settings, "3", actor="anna", reason="approved")
    assert aliases(settings) == {"challenger": "2"}
    assert [r["action"] for r in read_audit(settings)] == ["challenger"]


def test_a_rollback_needs_a_reason(settings: Settings):
    with pytest.raises(PromotionError, match="needs a reason"):
        rollback(settings, actor="oncall", reason="  ")


def test_the_steps_move_only_what_passed_the_gate_and_the_load_test(settings: Settings, tmp_path: Path):
    gate = {"passed": True, "models": {"candidate": {"version": "3"}}, "mlflow_run_id": "run-3"}
    load_test = {"passed": True, "report_uri": "file:///reports/lt"}
    storage.write_json(str(tmp_path / "gate.json"), gate)
    storage.write_json(str(tmp_path / "load.json"), load_test)
    result_uri = str(tmp_path / "result.json")
    common = ["--gate-result-uri", str(tmp_path / "gate.json"), "--actor", "policy:auto-approve"]
    common += ["--result-uri", result_uri]

    assert promotion.main(["--action", "challenger", *common]) == 0
    assert storage.read_json(result_uri)["evaluation_run_id"] == "run-3"
    assert (
        promotion.main(
            ["--action", "promote", *common, "--load-test-result-uri", str(tmp_path / "load.json")]
        )
        == 0
    )
    promoted = storage.read_json(result_uri)
    assert promoted["moves"][0] == {"alias": "champion", "from_version": None, "to_version": "3"}
    assert promoted["load_test_report_uri"] == "file:///reports/lt"

    storage.write_json(str(tmp_path / "load.json"), {**load_test, "passed": False})
    make_challenger(settings, "2", actor="gate", evaluation_run_id="run-2")
    storage.write_json(str(tmp_path / "gate.json"), {**gate, "models": {"candidate": {"version": "2"}}})
    assert (
        promotion.main(
            ["--action", "promote", *common, "--load-test-result-uri", str(tmp_path / "load.json")]
        )
        == 3
    )
    assert aliases(settings) == {"champion": "3", "challenger": "2"}  # a failed load test promotes nothing
    assert (
        promotion.main(["--action", "rollback", "--actor", "x", "--result-uri", result_uri]) != 0
    )  # no reason
