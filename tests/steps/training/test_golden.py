"""The golden evaluation set: a stratified, deterministic selection, versioned with DVC, and pinnable."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from common import storage
from common.aspects import Lexicon
from common.prompts import canonical_json, load_prompt
from common.settings import get_settings
from common.step_entrypoint import EXIT_OK, EXIT_QUALITY_GATE
from common.vector_store import Filters, Hit
from pipelines.training import golden


def run_golden(out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result_uri = str(out.with_suffix(".result.json"))
    code = golden.main(["--output-uri", str(out), "--result-uri", result_uri, *extra])
    return code, storage.read_json(result_uri)


def rows_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sft_golden_built(sft_world, tmp_path_factory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("golden") / "out"
    code, result = run_golden(out)
    assert code == EXIT_OK, result
    return result, out


def test_the_selection_covers_every_profile_and_language_with_real_contexts(sft_world, sft_golden_built):
    result, out = sft_golden_built
    settings = get_settings()
    sft, gates = settings.sft, settings.thresholds.sft_dataset
    rows = rows_of(out / "golden.jsonl")
    references = {r["product_id"]: r for r in rows_of(Path(sft_world.references_uri))}

    assert result["rows"] == len(rows) == sft.golden.size
    assert {r["profile"] for r in rows} == set(sft.profiles)  # polarized and mostly negative included
    assert {r["language"] for r in rows} == set(settings.ingestion.languages)
    assert len({r["product_id"] for r in rows}) == len(rows)
    assert {r["split"] for r in rows} == {"golden"}
    # No profile gives up more than its hold-out share of references (at least one).
    per_profile = Counter(references[r["product_id"]]["profile"] for r in rows)
    available = Counter(r["profile"] for r in references.values())
    for profile, count in per_profile.items():
        assert count <= max(1, math.floor(sft.golden.max_profile_holdout * available[profile]))

    for row in rows:
        assert set(row) >= {"example_id", "product_id", "language", "snippets", "target"}
        # The yardstick is the product's summary as this context supports it: grounded in the labelled
        # mentions its snippets show, each claim citing them, phrased with the product's lexicon.
        assert row["source"] == "aspect_labels"
        assert row["aspect_lexicon"] == references[row["product_id"]]["aspect_lexicon"]
        load_prompt().parse_summary(canonical_json(row["target"]), len(row["snippets"]))
        shown = [[(m["aspect"], m["polarity"]) for m in s["aspects"]] for s in row["snippets"]]
        for key, polarity in (("pros", "positive"), ("cons", "negative")):
            for claim in row["target"][key]:
                aspect = Lexicon(row["aspect_lexicon"]).aspect_of(claim["text"], polarity)
                assert all((aspect, polarity) in shown[n - 1] for n in claim["evidence"]), claim
        assert row["profile"] == references[row["product_id"]]["profile"]
        assert len(row["snippets"]) >= gates.min_context_snippets
        # The snippets are the product's own reviews, in the row's language, as the index holds them.
        hits: list[Hit] = sft_world.store.get(sft_world.index, [s["chunk_id"] for s in row["snippets"]])
        assert {h.product_id for h in hits} == {row["product_id"]}
        assert {h.language for h in hits} == {row["language"]}
        assert sorted(h.text for h in hits) == sorted(s["text"] for s in row["snippets"])
        assert {s["bucket"] for s in row["snippets"]} <= {"positive", "negative", "recent"}
        # The review-count slice: every review of the product in that language, one per review not per chunk.
        chunks = sft_world.store.count(
            sft_world.index, Filters(product_ids=row["product_id"], languages=row["language"])
        )
        assert len(row["snippets"]) <= row["review_count"] <= chunks

    card = json.loads((out / "golden_card.json").read_text())
    assert card["mix"] == result["mix"] and card["references_uri"] == sft_world.references_uri
    assert result["dvc"]["tag"].startswith("golden/summaries/") and result["pinned"] is False


def test_rebuilding_with_the_same_inputs_gives_the_same_version(sft_golden_built, sft_tags, tmp_path):
    first, first_out = sft_golden_built
    code, again = run_golden(tmp_path / "again")
    assert code == EXIT_OK
    assert again["dvc"]["tag"] == first["dvc"]["tag"] and again["dvc"]["rev"] == first["dvc"]["rev"]
    assert (tmp_path / "again" / "golden.jsonl").read_bytes() == (first_out / "golden.jsonl").read_bytes()
    assert sft_tags("golden/") == [first["dvc"]["tag"]]


def test_a_pinned_version_is_fetched_not_rebuilt(sft_golden_built, tmp_path, monkeypatch):
    first, first_out = sft_golden_built
    # Another seed would select another set; a pinned version ignores the selection entirely.
    monkeypatch.setenv("LLMOPS_SFT__GOLDEN__SEED", "another-selection")
    get_settings.cache_clear()
    code, pinned = run_golden(tmp_path / "pinned", "--golden-version", first["dvc"]["tag"])
    assert code == EXIT_OK
    assert pinned["pinned"] is True and pinned["golden_version"] == first["dvc"]["tag"]
    assert pinned["dvc"]["rev"] == first["dvc"]["rev"]
    assert (tmp_path / "pinned" / "golden.jsonl").read_bytes() == (first_out / "golden.jsonl").read_bytes()
    assert pinned["mix"] == first["mix"]

    # The fine-tuning DAG's plan pins it the same way; the set lands beside the run's dataset folder.
    plan = {"dataset_uri": str(tmp_path / "run" / "sft"), "golden_version": first["dvc"]["tag"]}
    storage.write_json(str(tmp_path / "plan.json"), plan)
    result_uri = str(tmp_path / "planned.json")
    assert golden.main(["--plan-uri", str(tmp_path / "plan.json"), "--result-uri", result_uri]) == EXIT_OK
    get_settings.cache_clear()
    assert storage.read_json(result_uri)["golden_uri"] == str(tmp_path / "run" / "golden" / "golden.jsonl")
    assert (tmp_path / "run" / "golden" / "golden.jsonl").read_bytes() == (
        first_out / "golden.jsonl"
    ).read_bytes()


def test_a_language_nobody_reviews_in_fails_and_versions_nothing(
    sft_golden_built, sft_tags, tmp_path, monkeypatch
):
    monkeypatch.setenv("LLMOPS_SFT__LANGUAGES", json.dumps([*get_settings().ingestion.languages, "pt"]))
    get_settings.cache_clear()
    before = sft_tags("golden/")
    code, result = run_golden(tmp_path / "failed")
    get_settings.cache_clear()
    assert code == EXIT_QUALITY_GATE
    assert result["status"] == "quality_gate_failed" and result["published"] is False
    assert result["missing_languages"] == ["pt"] and result["missing_profiles"] == []
    assert not (tmp_path / "failed").exists()
    assert sft_tags("golden/") == before
