"""The grounding scorer and the local profile's grounding encoder.

The encoder `make setup` builds (`local_models.grounding_encoder`) is judged on the demo's catalogue
(seed 7), which it never trained on: an English claim must find its support in every language, and a
pro must not find it in a sentence that blames the same aspect. The shipped MiniLM is measured beside
it, to show what the alignment is for. The build itself is checked at toy size.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from common.embedders import SentenceTransformerEmbedder
from common.grounding import GroundingScorer, open_grounding_scorer, sentences
from common.settings import get_settings
from local_models import grounding_encoder

DEMO_SEED = 7
LANGUAGES = ("de", "en", "es", "fr", "it", "nl")


def test_sentences_split_at_ends_and_line_breaks() -> None:
    text = "Great sound!  The battery died.\nWould not buy again... Really?No split here"
    assert sentences(text) == [
        "Great sound!",
        "The battery died.",
        "Would not buy again...",
        "Really?No split here",
    ]


@pytest.fixture(scope="module")
def local_scorer() -> GroundingScorer:
    settings = get_settings("local")
    assert settings.embedding.grounding_model == "minilm_catalogue"
    return open_grounding_scorer(settings)


@pytest.fixture(scope="module")
def shipped_scorer() -> GroundingScorer:
    settings = get_settings("local")
    assert settings.thresholds.grounding is not None
    model = settings.embedding.models[settings.embedding.model]
    return GroundingScorer(
        SentenceTransformerEmbedder(model, "unused"), settings.thresholds.grounding.min_similarity
    )


@pytest.fixture(scope="module")
def on_demo_catalogue(local_scorer: GroundingScorer, shipped_scorer: GroundingScorer) -> dict[str, Any]:
    return {
        "local": grounding_encoder.check(local_scorer, 300, seed=DEMO_SEED),
        "shipped": grounding_encoder.check(shipped_scorer, 300, seed=DEMO_SEED),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_local_scorer_finds_english_claims_in_every_language(on_demo_catalogue, language) -> None:
    measured = on_demo_catalogue["local"][language]
    assert measured["supports"] >= 20, measured  # enough labelled mentions to say anything
    assert measured["recall"] >= 0.9, measured
    # Precision: a flipped pro or an unrelated sentence is not support. Measured 0.97 in English and
    # 0.62-0.81 in the other languages, where a sentence blaming an aspect still passes for its pro at
    # times: the scorer is lenient on polarity there (common/grounding.py says so).
    assert measured["precision"] >= (0.95 if language == "en" else 0.6), measured


def test_the_local_scorer_is_mostly_right_when_it_finds_support(on_demo_catalogue) -> None:
    assert on_demo_catalogue["local"]["all"]["precision"] >= 0.75


def test_the_shipped_minilm_is_what_the_alignment_fixes(on_demo_catalogue) -> None:
    shipped, local = on_demo_catalogue["shipped"], on_demo_catalogue["local"]
    assert shipped["de"]["recall"] < 0.1 and shipped["nl"]["recall"] < 0.1  # English-only
    assert shipped["en"]["precision"] < 0.7  # polarity-blind: cons taken for pros
    assert local["all"]["precision"] > shipped["all"]["precision"] + 0.2


def test_a_sentence_that_blames_an_aspect_supports_its_con_before_its_pro(
    local_scorer: GroundingScorer,
) -> None:
    # Demo-catalogue sentences that blame an aspect, in English and German: the con is found, and it is
    # nearer than the pro; in English the pro is not found at all (in German it may be: the leniency on
    # polarity the precision above measures).
    rows = grounding_encoder.catalogue(DEMO_SEED)
    for language in ("en", "de"):
        label, product = next(
            (lb, p)
            for _, lb, p in rows
            if lb["language"] == language and any(m["polarity"] == "negative" for m in lb["aspects"])
        )
        blamed = next(m for m in label["aspects"] if m["polarity"] == "negative")
        con = grounding_encoder.claim_text(product, blamed["aspect"], "negative")
        pro = grounding_encoder.claim_text(product, blamed["aspect"], "positive")
        found = local_scorer.supporting([con, pro], [blamed["text"]])
        assert found[0] == [1], (language, blamed, con)
        if language == "en":
            assert found[1] == [], (blamed, pro)
        vectors = local_scorer.embedder.encode([blamed["text"], con, pro])
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2], (language, blamed, con, pro)


def test_the_build_is_cached_by_what_it_depends_on(tmp_path) -> None:
    toy = grounding_encoder.BuildConfig(catalogues=1, steps=2, warmup_steps=1, batch_size=8, check_reviews=5)
    cache = tmp_path / "cache"
    out = grounding_encoder.build(tmp_path / "model", toy, cache)
    record = json.loads((out / "build.json").read_text())
    key = grounding_encoder.content_key(toy)
    assert record["content_key"] == key and (cache / key / "model.safetensors").is_file()
    assert set(record["held_out_check"]) == {grounding_encoder.BASE_VERSION, record["version"]}
    assert len(record["loss_last"]) == 2
    # The same inputs: the cached folder, not a new training (its build.json is copied unchanged).
    again = grounding_encoder.build(tmp_path / "again", toy, cache)
    assert (again / "build.json").read_text() == (out / "build.json").read_text()
    assert grounding_encoder.content_key(replace(toy, steps=3)) != key
    # What `open_grounding_scorer` loads: the folder is a sentence-transformers model of 384 dimensions.
    settings = get_settings("local")
    model = settings.embedding.models["minilm_catalogue"].model_copy(update={"path": str(out)})
    assert SentenceTransformerEmbedder(model, str(tmp_path)).encode(["fast delivery"]).shape == (1, 384)
