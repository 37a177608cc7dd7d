"""Fixtures of the cleaning-chain tests: settings that use the tiny toxicity model of
`tests/steps/conftest.py`, and chains that share the loaded models (each with its own duplicate state)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from common.pii import PiiRedactor
from common.settings import Settings, load_settings
from common.toxicity import ToxicityScorer
from pipelines.ingestion.chain import ReviewChain

# Ordinary reviews, several per supported language, that langdetect identifies with confidence.
REVIEWS: dict[str, list[str]] = {
    "en": [
        "The blender is powerful and quiet, and the glass jug is easy to clean after smoothies.",
        "Battery life is disappointing: the headphones die after two hours of music on the train.",
        "Comfortable running shoes with good grip, although the laces keep coming undone.",
    ],
    "de": [
        "Der Mixer ist leistungsstark und leise, und der Glasbehälter lässt sich gut reinigen.",
        "Die Akkulaufzeit ist enttäuschend, die Kopfhörer halten nicht einmal zwei Stunden durch.",
        "Bequeme Laufschuhe mit gutem Halt, nur die Schnürsenkel gehen ständig wieder auf.",
    ],
    "fr": [
        "Le mixeur est puissant et silencieux, et le bol en verre se nettoie très facilement.",
        "L'autonomie de la batterie est décevante, le casque tient à peine deux heures.",
        "Chaussures de course confortables avec une bonne adhérence, mais les lacets se défont.",
    ],
    "es": [
        "La batidora es potente y silenciosa, y la jarra de cristal se limpia con facilidad.",
        "La duración de la batería es decepcionante, los auriculares apenas aguantan dos horas.",
        "Zapatillas de correr muy cómodas y con buen agarre, aunque los cordones se sueltan.",
    ],
    "it": [
        "Il frullatore è potente e silenzioso, e la caraffa di vetro si pulisce con facilità.",
        "La durata della batteria è deludente, le cuffie si scaricano dopo appena due ore.",
        "Scarpe da corsa comode e con una buona aderenza, anche se i lacci si slacciano spesso.",
    ],
    "nl": [
        "De blender is krachtig en stil, en de glazen kan is na gebruik makkelijk schoon te maken.",
        "De batterijduur is teleurstellend, de koptelefoon houdt het nog geen twee uur vol.",
        "Comfortabele hardloopschoenen met goede grip, alleen gaan de veters steeds los.",
    ],
}

START = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def sample_reviews() -> dict[str, list[str]]:
    return REVIEWS


@pytest.fixture(scope="session")
def chain_settings(tiny_toxicity_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings("local")
    toxicity = settings.ingestion.toxicity.model_copy(
        update={"checkpoints": {"default": str(tiny_toxicity_checkpoint)}, "quantize_int8": False}
    )
    # The quarantine HMAC key is generated for the tests, not in the developer's data folder.
    quarantine = settings.ingestion.quarantine.model_copy(
        update={"hash_key_file": str(tmp_path_factory.mktemp("secrets") / "quarantine-hmac.key")}
    )
    ingestion = settings.ingestion.model_copy(update={"toxicity": toxicity, "quarantine": quarantine})
    return settings.model_copy(update={"ingestion": ingestion})


@pytest.fixture(scope="session")
def chain_models(chain_settings: Settings) -> tuple[PiiRedactor, ToxicityScorer]:
    return PiiRedactor.from_settings(chain_settings.ingestion), ToxicityScorer.from_settings(
        chain_settings.ingestion
    )


@pytest.fixture
def make_chain(
    tmp_path: Path, chain_settings: Settings, chain_models: tuple[PiiRedactor, ToxicityScorer]
) -> Iterator[Callable[..., ReviewChain]]:
    """Build a fresh chain (own duplicate state, shared models); `settings=` overrides the settings."""
    chains: list[ReviewChain] = []
    counter = itertools.count()

    def build(settings: Settings | None = None) -> ReviewChain:
        redactor, scorer = chain_models
        chain = ReviewChain(
            settings or chain_settings, tmp_path / f"chain-{next(counter)}", redactor=redactor, scorer=scorer
        )
        chains.append(chain)
        return chain

    yield build
    for chain in chains:
        chain.close()


@pytest.fixture
def raw_review() -> Callable[..., dict[str, Any]]:
    """A raw review record (RAW_REVIEW fields) with a unique id; keyword arguments override fields."""
    counter = itertools.count()

    def make(text: Any = REVIEWS["en"][0], **overrides: Any) -> dict[str, Any]:
        i = next(counter)
        record = {
            "review_id": f"r-{i:05d}",
            "product_id": f"p-{i % 7}",
            "star_rating": str(1 + i % 5),
            "review_text": text if isinstance(text, str) else None,
            "text_type": type(text).__name__,
            "created_at": START + timedelta(minutes=i),
            "helpful_votes": i % 3,
            "verified_purchase": i % 2 == 0,
        }
        record.update(overrides)
        return record

    return make
