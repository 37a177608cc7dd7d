"""Fixtures shared by the heavy-step tests: small Detoxify-format toxicity models built offline.

They are built once per session in a temp folder from texts written here, so no test reads the
repository's `.local/` models or needs a network.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from common.serving.local_server import UNSUPPORTED_MARKER
from common.settings import load_settings

# A little multilingual text to learn a vocabulary from: the same phrases in the six languages.
_PHRASES = {
    "en": ["great product, works well", "arrived late and broken", "the battery lasts two days"],
    "de": ["tolles Produkt, funktioniert gut", "kam spät und kaputt an", "der Akku hält zwei Tage"],
    "fr": ["super produit, marche bien", "arrivé en retard et cassé", "la batterie dure deux jours"],
    "es": ["gran producto, funciona bien", "llegó tarde y roto", "la batería dura dos días"],
    "it": ["ottimo prodotto, funziona bene", "arrivato in ritardo e rotto", "la batteria dura due giorni"],
    "nl": ["geweldig product, werkt goed", "te laat en kapot aangekomen", "de batterij gaat twee dagen mee"],
}


def _multilingual_texts(n: int) -> list[tuple[str, str]]:
    """`n` (text, language) pairs of varied length, deterministic."""
    pairs = [(lang, phrase) for lang, phrases in _PHRASES.items() for phrase in phrases]
    texts = []
    for i, (lang, phrase) in zip(range(n), itertools.cycle(pairs)):
        texts.append((" ".join([phrase] * (1 + i % 7)) + f" {i}", lang))
    return texts


@pytest.fixture(scope="session")
def review_texts() -> list[tuple[str, str]]:
    """120 short reviews as (text, language), of varied length, in the six languages."""
    return _multilingual_texts(120)


@pytest.fixture(scope="session")
def tiny_toxicity_checkpoint(tmp_path_factory) -> Path:
    """A tiny BERT with Detoxify's `original` classes and random weights."""
    from local_models.toxicity import build_checkpoint

    texts = [text for text, _ in _multilingual_texts(300)]
    return build_checkpoint(tmp_path_factory.mktemp("toxicity"), texts=texts, vocab_size=400)


@pytest.fixture(scope="session")
def local_toxicity_model(tmp_path_factory) -> Path:
    """The `local` profile's model, trained by its own command (`--seed 0`) on the sample generator."""
    from local_models.toxicity import LOCAL_MODEL_NAME, main

    out = tmp_path_factory.mktemp("local-model")
    assert main(["--out", str(out), "--seed", "0"]) == 0
    return out / f"{LOCAL_MODEL_NAME}.ckpt"


@pytest.fixture(scope="session")
def serving_python() -> Path:
    """The serving environment `make setup` built; skips where it marked the CPU unsupported."""
    local = load_settings().serving.local
    assert local is not None
    marker = Path(local.python).parent.parent / UNSUPPORTED_MARKER
    if marker.is_file():
        pytest.skip(f"vLLM's CPU build cannot run here: {marker.read_text(encoding='utf-8').strip()}")
    if not Path(local.python).is_file():
        pytest.fail(f"no serving environment ({local.python}): run `make setup`")
    return Path(local.python)
