"""Toxicity scoring: Detoxify loads our checkpoints; batched inference is exact, routed and offline."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
import torch
from detoxify import Detoxify

from common.settings import load_thresholds
from common.toxicity import ToxicityModelError, ToxicityScorer, config_folder
from local_models.toxicity import (
    DEMO_SEED,
    HELD_OUT_SETS,
    ORIGINAL_CLASSES,
    build_checkpoint,
    labelled_reviews,
    new_model,
    save_checkpoint,
    train_tokenizer,
)
from tests.aws_server import create_bucket


@pytest.fixture(scope="module")
def spread_checkpoint(tmp_path_factory, review_texts) -> Path:
    """A tiny XLM-R whose random scores spread over (0, 1), so that a mix-up of texts would show.

    With the usual small initialisation every text scores about the same; larger random weight
    matrices make the scores depend on the text, and it stays a plain Detoxify-format checkpoint.
    """
    texts = [text for text, _ in review_texts]
    tokenizer = train_tokenizer(texts, arch="xlm-roberta", vocab_size=300)
    model = new_model(tokenizer, arch="xlm-roberta", num_labels=len(ORIGINAL_CLASSES), seed=1)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.dim() == 2 and "LayerNorm" not in name:
                parameter.normal_(0.0, 0.25, generator=generator)
    out = tmp_path_factory.mktemp("spread")
    return save_checkpoint(out, "xlmr-spread", model, tokenizer, arch="xlm-roberta", classes=ORIGINAL_CLASSES)


def scorer(checkpoint: Path, **options) -> ToxicityScorer:
    # One thread: tiny models on a shared 2-core machine run slower with two (they wait on each other).
    return ToxicityScorer({"default": str(checkpoint)}, num_threads=1, **options)


def test_checkpoints_load_through_detoxifys_own_loader(
    tiny_toxicity_checkpoint, spread_checkpoint, review_texts
):
    for checkpoint, model_class in [
        (tiny_toxicity_checkpoint, "BertForSequenceClassification"),
        (spread_checkpoint, "XLMRobertaForSequenceClassification"),
    ]:
        detox = Detoxify(
            "original",
            checkpoint=str(checkpoint),
            device="cpu",
            huggingface_config_path=str(config_folder(checkpoint)),
        )
        assert type(detox.model).__name__ == model_class
        assert detox.class_names[0] == "toxicity"  # Detoxify's rename of `toxic`
        assert len(detox.class_names) == len(ORIGINAL_CLASSES)
        # Our batched inference gives Detoxify's own prediction, text by text.
        texts = [text for text, _ in review_texts[:6]]
        expected = [detox.predict(text)["toxicity"] for text in texts]
        ours = scorer(checkpoint, max_tokens=512).score(texts, ["en"] * len(texts))
        assert ours == pytest.approx(expected, abs=1e-5)


def test_scores_are_probabilities_in_input_order(spread_checkpoint, review_texts):
    texts = [text for text, _ in review_texts]
    languages = [lang for _, lang in review_texts]
    scores = scorer(spread_checkpoint, batch_size=8).score(texts, languages)
    assert len(scores) == len(texts)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(scores) - min(scores) > 0.3  # the fixture really spreads: a mix-up would be visible
    single = scorer(spread_checkpoint, batch_size=1)
    one_by_one = [single.score([text], [lang])[0] for text, lang in review_texts[:20]]
    assert scores[:20] == pytest.approx(one_by_one, abs=1e-5)


def test_batch_size_and_order_do_not_change_scores(spread_checkpoint, review_texts):
    texts = [text for text, _ in review_texts]
    languages = ["en"] * len(texts)
    reference = scorer(spread_checkpoint, batch_size=1).score(texts, languages)
    for batch_size in (3, 16, 256):
        assert scorer(spread_checkpoint, batch_size=batch_size).score(texts, languages) == pytest.approx(
            reference, abs=1e-5
        )
    order = list(range(len(texts)))
    random.Random(0).shuffle(order)
    shuffled = scorer(spread_checkpoint, batch_size=16).score([texts[i] for i in order], languages)
    assert shuffled == pytest.approx([reference[i] for i in order], abs=1e-5)


def test_truncation_to_max_tokens(spread_checkpoint, review_texts):
    long_text = " ".join(text for text, _ in review_texts)
    short = scorer(spread_checkpoint, max_tokens=16)
    assert short.score([long_text], ["en"]) == pytest.approx(
        short.score([long_text + " extra words"], ["en"])
    )
    assert short.score([long_text], ["en"]) != pytest.approx(
        scorer(spread_checkpoint).score([long_text], ["en"])
    )


def test_int8_agrees_with_fp32(tiny_toxicity_checkpoint, review_texts):
    texts = [text for text, _ in review_texts]
    languages = ["en"] * len(texts)
    fp32 = scorer(tiny_toxicity_checkpoint).score(texts, languages)
    quantized = scorer(tiny_toxicity_checkpoint, quantize_int8=True)
    int8 = quantized.score(texts, languages)
    assert max(abs(a - b) for a, b in zip(fp32, int8, strict=True)) <= 0.02
    modules = list(quantized.model_for("en").modules())
    assert not any(type(m) is torch.nn.Linear for m in modules)  # every Linear layer was replaced
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in modules)


def test_each_language_goes_to_its_checkpoint_and_loads_lazily(
    tiny_toxicity_checkpoint, spread_checkpoint, review_texts
):
    routed = ToxicityScorer(
        {
            "de": str(tiny_toxicity_checkpoint),
            "nl": str(tiny_toxicity_checkpoint),
            "default": str(spread_checkpoint),
        }
    )
    assert routed.loaded == []
    routed.score(["nur deutsch hier"], ["de"])
    assert routed.loaded == [str(tiny_toxicity_checkpoint)]  # `default` not needed yet
    texts = [text for text, _ in review_texts[:24]]
    languages = [lang for _, lang in review_texts[:24]]
    scores = routed.score(texts, languages)
    assert routed.loaded == [str(tiny_toxicity_checkpoint), str(spread_checkpoint)]  # de and nl share one
    tiny = scorer(tiny_toxicity_checkpoint).score(texts, languages)
    spread = scorer(spread_checkpoint).score(texts, languages)
    for i, lang in enumerate(languages):
        expected = tiny[i] if lang in ("de", "nl") else spread[i]
        assert scores[i] == pytest.approx(expected, abs=1e-5), lang


def test_missing_checkpoints_are_clear_errors(tmp_path, tiny_toxicity_checkpoint):
    missing = tmp_path / "nowhere" / "model.ckpt"
    with pytest.raises(ToxicityModelError, match=r"nowhere/model\.ckpt"):
        scorer(missing).score(["text"], ["en"])
    with pytest.raises(ToxicityModelError, match="no toxicity checkpoint for language 'fr'"):
        ToxicityScorer({"de": str(tiny_toxicity_checkpoint)}).score(["texte"], ["fr"])
    with pytest.raises(ToxicityModelError, match="no toxicity checkpoint is configured"):
        ToxicityScorer({})
    alone = tmp_path / "alone.ckpt"  # a checkpoint without its config folder
    alone.write_bytes(tiny_toxicity_checkpoint.read_bytes())
    with pytest.raises(ToxicityModelError, match=r"config\.json"):
        scorer(alone).score(["text"], ["en"])
    assert ToxicityScorer({"default": str(missing)}).score([], []) == []


def test_a_checkpoint_naming_a_hub_model_is_made_local(tmp_path, tiny_toxicity_checkpoint, review_texts):
    """Upstream Detoxify files name a hub model (`bert-base-uncased`); offline that must not be fetched."""
    upstream = tmp_path / "original.ckpt"
    loaded = torch.load(tiny_toxicity_checkpoint, weights_only=False)
    loaded["config"]["arch"]["args"]["model_type"] = "bert-base-uncased"
    torch.save(loaded, upstream)
    shutil.copytree(config_folder(tiny_toxicity_checkpoint), config_folder(upstream))
    texts = [text for text, _ in review_texts[:10]]
    scores = ToxicityScorer({"default": str(upstream)}, num_threads=1, cache_dir=tmp_path / "cache").score(
        texts, ["en"] * 10
    )
    assert scores == pytest.approx(scorer(tiny_toxicity_checkpoint).score(texts, ["en"] * 10), abs=1e-6)
    assert list((tmp_path / "cache" / "localized").rglob("original.ckpt"))


def test_s3_checkpoint_is_downloaded_once_into_the_cache(
    tmp_path, aws_endpoint, tiny_toxicity_checkpoint, review_texts
):
    s3 = create_bucket(aws_endpoint, "models")
    s3.upload_file(str(tiny_toxicity_checkpoint), "models", "toxicity/original/checkpoint.ckpt")
    for path in config_folder(tiny_toxicity_checkpoint).iterdir():
        s3.upload_file(str(path), "models", f"toxicity/original/checkpoint/{path.name}")
    uri = "s3://models/toxicity/original/checkpoint.ckpt"
    texts = [text for text, _ in review_texts[:10]]
    cache = tmp_path / "cache"

    scores = ToxicityScorer({"default": uri}, cache_dir=cache).score(texts, ["en"] * 10)
    assert scores == pytest.approx(scorer(tiny_toxicity_checkpoint).score(texts, ["en"] * 10), abs=1e-6)
    (downloaded,) = list((cache / "downloads").rglob("checkpoint.ckpt"))
    assert (downloaded.parent / "checkpoint" / "config.json").is_file()
    stamp = downloaded.stat().st_mtime_ns
    ToxicityScorer({"default": uri}, cache_dir=cache).score(texts[:1], ["en"])
    assert downloaded.stat().st_mtime_ns == stamp  # the cache served the second load

    with pytest.raises(ToxicityModelError, match="does not exist"):
        ToxicityScorer({"default": "s3://models/toxicity/none.ckpt"}, cache_dir=cache).score(["x"], ["en"])


def test_base_size_is_detoxifys_production_architecture(tmp_path, review_texts):
    """BERT-base as Detoxify's `original`: the parameter count of the released model, exactly."""
    texts = [text for text, _ in review_texts]
    checkpoint = build_checkpoint(tmp_path, texts=texts, size="base", arch="bert", vocab_size=400)
    try:
        assert checkpoint == tmp_path.resolve() / "bert-base.ckpt"
        config = torch.load(checkpoint, weights_only=False, mmap=True)["config"]
        assert config["arch"]["args"]["model_type"] == str(config_folder(checkpoint))
        assert config["dataset"]["args"]["classes"] == ORIGINAL_CLASSES
        model = scorer(checkpoint).model_for("en")
        assert (model.config.num_hidden_layers, model.config.hidden_size, model.config.vocab_size) == (
            12,
            768,
            30522,
        )
        assert sum(p.numel() for p in model.parameters()) == 109_486_854  # toxic_original-c1212f89.ckpt
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)  # 440 MB: not left for pytest's keep-3 temp folders


def test_local_model_separates_the_generators_toxic_reviews(local_toxicity_model):
    """Trained on seed 0, judged on the demo's seed: insults above the threshold, the rest below."""
    report = json.loads(local_toxicity_model.with_suffix(".metrics.json").read_text())
    assert report["train_seed"] == 0 and report["held_out_seed"] == DEMO_SEED
    assert report["held_out"]["demo"]["accuracy"] >= 0.99
    threshold = load_thresholds().ingestion.toxicity_quarantine
    texts, labels = labelled_reviews(DEMO_SEED, **HELD_OUT_SETS["toxic_rich"])
    model = scorer(local_toxicity_model)
    scores = model.score(texts, ["en"] * len(texts))
    toxic = [score for score, label in zip(scores, labels, strict=True) if label]
    clean = [score for score, label in zip(scores, labels, strict=True) if not label]
    assert len(toxic) > 100 and len(clean) > 1000
    # A small model learnt in minutes: most insults and nearly every civil review are called right
    # (repeated builds reported 1.0 and 1.0; the tokenizer makes each run differ a little).
    assert sum(score >= threshold for score in toxic) / len(toxic) >= 0.90
    assert sum(score < threshold for score in clean) / len(clean) >= 0.99
    # int8 keeps the quarantine decision of almost every review (the scores move a little).
    int8 = scorer(local_toxicity_model, quantize_int8=True).score(texts, ["en"] * len(texts))
    changed = sum((a >= threshold) != (b >= threshold) for a, b in zip(scores, int8, strict=True))
    assert changed / len(texts) <= 0.01
