"""Noise: word counts in six languages, spam patterns, and exact and near duplicates kept on disk."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

import pytest

from common.settings import DedupSettings, load_settings
from common.text_dedup import DuplicateIndex, shingles
from pipelines.ingestion.noise import SpamFilter, count_words

MARC = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "marc" / "marc_test_all_langs.csv"

LONG_REVIEW = (
    "I bought this coffee grinder three months ago to replace an old blade model. The burrs are steel, "
    "the grind is even from espresso to French press, and the hopper holds enough beans for a week. "
    "It is louder than I expected in the morning and the plastic lid feels cheap, but the motor never "
    "hesitates and cleaning takes two minutes with the included brush."
)


# --- words -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("The blender works well", 4),
        ("L'autonomie est décevante, c'est dommage", 5),  # elisions are one word
        ("Don't buy it, e-mail the seller", 6),
        ("Größe passt nicht 😡😡😡", 3),  # emoji are not words
        ("👍👍👍 10/10 5 stars", 1),  # numbers are not words
        ("4k TV, 2x HDMI", 4),
        ("Één ster, écht waar", 4),
        ("  ", 0),
    ],
)
def test_words_are_counted_in_every_language(text, words):
    assert count_words(text) == words


# --- spam --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spam() -> SpamFilter:
    settings = load_settings("local")
    return SpamFilter.from_file(settings.resolve_path(settings.ingestion.spam.patterns_file))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Great phone! Use code SAVE20 at checkout for 20% off", "coupon_code"),
        ("Mit dem Gutscheincode: WINTER25 gibt es Rabatt", "coupon_code"),
        ("Utilisez le code promo PROMO10 sur notre site", "coupon_code"),
        ("Código de descuento VERANO21 en la tienda", "coupon_code"),
        ("Codice sconto ESTATE22 valido fino a domenica", "coupon_code"),
        ("Met kortingscode ZOMER23 nog goedkoper", "coupon_code"),
        ("Click here to win a free phone", "click_here"),
        ("Klicken Sie hier für das Angebot", "click_here"),
        ("Cliquez ici pour gagner", "click_here"),
        ("Haz clic aquí para ganar", "click_here"),
        ("Clicca qui per vincere", "click_here"),
        ("Klik hier voor de aanbieding", "click_here"),
        ("Cheap watches, visit www.cheap-watches.example today", "visit_link"),
        ("Besuchen Sie https://angebote.example für mehr", "visit_link"),
        ("Bestel nu bij www.goedkoop.example", "visit_link"),
        ("Contact me on WhatsApp +49 151 23456789 for a discount", "messenger_contact"),
        ("Earn $500 a day working two hours from home", "make_money"),
        ("Ganar dinero fácil con este método", "make_money"),
        ("aaaaaaaaaaaaaaaaaaaa", "repeated_characters"),
        ("BEST WATCHES AT THE LOWEST PRICES EVER SEEN shop-deals.com/offer", "shouting_with_link"),
        ("UNGLAUBLICH GÜNSTIGE UHREN NUR HEUTE https://uhren.example/sale", "shouting_with_link"),
    ],
)
def test_spam_is_caught_and_named(spam, text, pattern):
    assert spam.match(text) == pattern


@pytest.mark.parametrize(
    "text",
    [
        "The coupon code did not work at checkout, support fixed it.",
        "Sooooo good, would buy again!!!!!!!!!!!!!!!!!!!!",
        "I visited the store and bought it at www.ikea.com instead.",
        "THIS IS THE WORST PRODUCT I HAVE EVER BOUGHT, DO NOT BUY IT",  # shouting without a link
        "Called support on 0800 123 4567, they sent a new signal cable.",
        "Click-clack keyboard, the sound is great.",
    ],
)
def test_ordinary_reviews_are_not_spam(spam, text):
    assert spam.match(text) is None


@pytest.mark.skipif(not MARC.is_file(), reason=f"real reviews not available at {MARC}")
def test_no_spam_false_positives_on_real_reviews(spam):
    with MARC.open(encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["lang"] in ("de", "en", "es", "fr")]
    hits = [(pattern, row["text"][:100]) for row in rows if (pattern := spam.match(row["text"]))]
    assert hits == []


# --- duplicates --------------------------------------------------------------------------------------


@pytest.fixture
def index(tmp_path: Path):
    dedup = DuplicateIndex(tmp_path / "state.sqlite", load_settings("local").ingestion.dedup)
    yield dedup
    dedup.close()


def test_review_ids_are_told_apart_as_duplicate_or_conflicting(index):
    assert index.check_review_id("r1", "hash-a") is None
    assert index.check_review_id("r2", "hash-b") is None
    assert index.check_review_id("r1", "hash-a")[0] == "duplicate_review_id"
    reason, detail = index.check_review_id("r1", "hash-c")
    assert reason == "conflicting_review_id" and "hash" not in detail  # no hash of the text leaks


def test_exact_duplicates_ignore_case_and_spacing(index):
    assert index.check_text("r1", LONG_REVIEW) is None
    assert index.check_text("r2", "  " + LONG_REVIEW.upper().replace(" ", "   ")) == (
        "duplicate_text",
        "same text as review r1",
    )


@pytest.mark.parametrize(
    "variant",
    [
        LONG_REVIEW + " Recommended.",
        LONG_REVIEW.replace("three months", "four months"),
        LONG_REVIEW.replace("The burrs are steel, ", "The burrs are steel,\n"),  # same words, new punctuation
    ],
)
def test_near_duplicates_are_found(index, variant):
    assert index.check_text("r1", LONG_REVIEW) is None
    reason, detail = index.check_text("r2", variant)
    assert reason in ("near_duplicate", "duplicate_text")
    if reason == "near_duplicate":
        assert detail.endswith("with review r1")
        assert float(detail.split()[2]) >= 0.85


def test_published_reviews_of_earlier_days_catch_copies_and_name_their_day(index, sample_reviews):
    german = sample_reviews["de"][0]
    index.add_published("r-old-1", "R-Old-1", LONG_REVIEW, "2026-11-17")
    index.add_published("r-old-2", "R-Old-2", german, "2026-11-18")
    index.add_published("r-old-3", "R-Old-3", german, "2026-11-18")  # the earliest one keeps the text
    index.commit()

    assert index.check_text("r1", german.upper()) == (
        "duplicate_text",
        "same text as review R-Old-2 (published for 2026-11-18)",
    )
    reason, detail = index.check_text("r2", LONG_REVIEW + " Recommended.")
    assert reason == "near_duplicate" and detail.endswith("with review R-Old-1 (published for 2026-11-17)")
    # An id published before is taken, whatever the content now: the review was delivered again.
    assert index.check_review_id("r-old-1", "any-hash") == (
        "duplicate_review_id",
        "review_id already published for 2026-11-17",
    )
    assert index.check_text("r3", sample_reviews["fr"][0]) is None
    assert index.find_copy(german)[:2] == ("duplicate_text", "R-Old-2")


def test_the_runs_own_reviews_are_named_without_a_day(index, sample_reviews):
    index.add_published("p1", "P1", sample_reviews["en"][0], "2026-11-18")
    assert index.check_text("r1", sample_reviews["en"][1]) is None
    assert index.check_text("r2", sample_reviews["en"][1]) == ("duplicate_text", "same text as review r1")


def test_unrelated_and_merely_similar_reviews_are_not_duplicates(index, sample_reviews):
    texts = [t for group in sample_reviews.values() for t in group]
    texts.append("I bought this kettle three months ago to replace an old one. It boils fast and is quiet.")
    texts.append(LONG_REVIEW)
    texts.append(
        " ".join(LONG_REVIEW.split()[:30]) + " Overall it is a disappointing grinder, I returned it."
    )
    for i, text in enumerate(texts):
        assert index.check_text(f"r{i}", text) is None, text


def test_verdicts_are_reproducible_across_indexes(tmp_path, sample_reviews):
    texts = [t for group in sample_reviews.values() for t in group] + [LONG_REVIEW, LONG_REVIEW + " Yes."]
    settings = load_settings("local").ingestion.dedup
    runs, signatures = [], []
    for name in ("a", "b"):
        dedup = DuplicateIndex(tmp_path / f"{name}.sqlite", settings)
        runs.append([dedup.check_text(f"r{i}", t) for i, t in enumerate(texts)])
        signatures.append([dedup.signature(t).hashvalues.tolist() for t in texts])
        dedup.close()
    assert runs[0] == runs[1]
    assert signatures[0] == signatures[1]
    assert runs[0][-1][0] == "near_duplicate"


def test_state_lives_in_sqlite_not_in_memory(tmp_path, sample_reviews):
    path = tmp_path / "state.sqlite"
    dedup = DuplicateIndex(path, load_settings("local").ingestion.dedup)
    texts = [t for group in sample_reviews.values() for t in group]
    for i, text in enumerate(texts):
        dedup.check_review_id(f"r{i}", f"h{i}")
        dedup.check_text(f"r{i}", text)
    dedup.commit()
    dedup.close()
    db = sqlite3.connect(path)
    counts = {
        "review_ids": db.execute("SELECT COUNT(*) FROM review_ids").fetchone()[0],
        "texts": db.execute("SELECT COUNT(*) FROM texts").fetchone()[0],
        "signatures": db.execute("SELECT COUNT(*) FROM signatures").fetchone()[0],
    }
    bands = db.execute("SELECT COUNT(*) FROM bands").fetchone()[0]
    db.close()
    assert counts == {"review_ids": len(texts), "texts": len(texts), "signatures": len(texts)}
    assert bands == len(texts) * load_settings("local").ingestion.dedup.bands


def test_shingles_are_word_trigrams_of_the_folded_text():
    assert shingles("Good  GOOD good, Good") == {b"good good good"}
    assert shingles("Nice one") == {b"nice one"}
    assert shingles("Ça marche très bien") == {"ça marche très".encode(), "marche très bien".encode()}


def test_bands_must_divide_the_permutations(tmp_path):
    with pytest.raises(ValueError, match="multiple"):
        DuplicateIndex(tmp_path / "x.sqlite", DedupSettings(num_perm=64, bands=10))
