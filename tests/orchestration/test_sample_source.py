"""The sample source generator: determinism, realism of the mix, and ground truth that matches the rows."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from common.ids import content_hash
from common.schemas import QUARANTINE_REASONS
from sample_source import (
    DEFECT_KINDS,
    LANGUAGE_SHARES,
    QUARANTINE_REASON,
    generate,
    iban_valid,
    iter_labelled_reviews,
    iter_reviews,
    luhn_valid,
)
from sample_source import pii as sample_pii
from sample_source.generator import _SLOPPY_CP1252, CROSS_DAY_MAX_DAYS, INVISIBLE
from sample_source.vocab import INJECTIONS, INJECTIONS_MARKUP, TOXIC_WORDS

END = date(2026, 11, 20)
DAYS = 14
# UTF-8 lead bytes read as cp1252 or latin-1 ("â\x9d": the dingbats, such as ❤, through latin-1).
MOJIBAKE_MARKERS = ("Ã", "Â", "â€", "â\x9d", "ð")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict:
    """The demo-sized dataset (defaults), read back from the database and the ground-truth files."""
    root = tmp_path_factory.mktemp("sample_source")
    summary = generate(root / "source.db", root / "truth", end_date=END, days=DAYS)
    conn = sqlite3.connect(root / "source.db")
    rows = {
        r[0]: dict(
            zip(
                (
                    "rowid",
                    "review_id",
                    "product_id",
                    "star_rating",
                    "review_text",
                    "created_at",
                    "helpful_votes",
                    "verified_purchase",
                    "text_type",
                ),
                r,
                strict=True,
            )
        )
        for r in conn.execute(
            "SELECT rowid, review_id, product_id, star_rating, review_text, created_at, helpful_votes, "
            "verified_purchase, typeof(review_text) FROM reviews"
        )
    }
    db_products = {r[0]: r for r in conn.execute("SELECT product_id, category, title FROM products")}
    indexes = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    conn.close()
    labels = [json.loads(line) for line in (root / "truth" / "review_labels.jsonl").read_text().splitlines()]
    products = [json.loads(line) for line in (root / "truth" / "products.jsonl").read_text().splitlines()]
    return {
        "root": root,
        "summary": summary,
        "rows": rows,
        "labels": labels,
        "products": products,
        "db_products": db_products,
        "indexes": indexes,
    }


@pytest.fixture(scope="module")
def large_clean_labels() -> list[dict]:
    """A bigger, defect-free sample for the distribution checks (streamed, no database)."""
    return [
        label
        for _, label in iter_labelled_reviews(
            seed=3, products=400, mean_reviews_per_product=25, days=7, end_date=END, defect_rate=0.0
        )
    ]


def _db_dump(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT rowid, * FROM reviews ORDER BY rowid").fetchall()
            + conn.execute("SELECT * FROM products ORDER BY product_id").fetchall()
        )
    finally:
        conn.close()


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.casefold())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


def test_same_seed_gives_identical_rows_and_a_rerun_replaces_them(tmp_path):
    args = {"products": 15, "mean_reviews_per_product": 12, "days": 5, "end_date": END}
    first = generate(tmp_path / "a.db", tmp_path / "a", seed=11, **args)
    generate(tmp_path / "b.db", tmp_path / "b", seed=11, **args)
    assert _db_dump(tmp_path / "a.db") == _db_dump(tmp_path / "b.db")
    assert (tmp_path / "a" / "review_labels.jsonl").read_bytes() == (
        tmp_path / "b" / "review_labels.jsonl"
    ).read_bytes()
    assert (tmp_path / "a" / "products.jsonl").read_bytes() == (
        tmp_path / "b" / "products.jsonl"
    ).read_bytes()

    again = generate(tmp_path / "a.db", tmp_path / "a", seed=11, **args)  # idempotent: replaced, not appended
    assert again.rows == first.rows == len(_db_dump(tmp_path / "a.db")) - first.products

    generate(tmp_path / "c.db", tmp_path / "c", seed=12, **args)
    assert _db_dump(tmp_path / "c.db") != _db_dump(tmp_path / "a.db")


def test_the_stream_yields_exactly_the_rows_the_database_gets(tmp_path):
    args = {"seed": 5, "products": 10, "mean_reviews_per_product": 10, "days": 4, "end_date": END}
    generate(tmp_path / "s.db", tmp_path / "truth", **args)
    conn = sqlite3.connect(tmp_path / "s.db")
    stored = conn.execute(
        "SELECT review_id, product_id, star_rating, review_text, created_at, helpful_votes, "
        "verified_purchase FROM reviews ORDER BY rowid"
    ).fetchall()
    conn.close()
    streamed = [tuple(row.values()) for row in iter_reviews(**args)]
    assert streamed == stored


def test_star_mix_is_j_shaped(large_clean_labels):
    stars = Counter(label["star"] for label in large_clean_labels)
    share = {s: stars[s] / len(large_clean_labels) for s in range(1, 6)}
    assert 0.5 <= share[5] <= 0.7
    assert 0.09 <= share[1] <= 0.2
    assert 0.08 <= share[4] <= 0.2
    assert share[2] < share[1] and share[3] < share[1]
    assert share[2] <= 0.1 and share[3] <= 0.1


def test_language_mix_matches_the_marketplace(large_clean_labels, dataset):
    counts = Counter(label["language"] for label in large_clean_labels)
    for language, target in LANGUAGE_SHARES.items():
        assert abs(counts[language] / len(large_clean_labels) - target) < 0.03, language
    assert set(LANGUAGE_SHARES) <= set(dataset["summary"].by_language)


def test_texts_are_native_varied_and_unique(dataset):
    clean = [
        (dataset["rows"][label["rowid"]]["review_text"], label)
        for label in dataset["labels"]
        if not label["defects"]
    ]
    by_language = defaultdict(str)
    for text, label in clean:
        by_language[label["language"]] += text
    native = {"de": "äöüß", "fr": "éèàçê", "es": "ñáéíóú¡¿", "it": "àèéìòù", "nl": "ëéï'"}
    for language, letters in native.items():
        assert any(ch in by_language[language] for ch in letters), language
    word_counts = [len(text.split()) for text, _ in clean]
    assert min(word_counts) < 15 and max(word_counts) > 80
    assert any("\n\n" in text for text, _ in clean)  # several paragraphs
    assert any(ch in text for text, _ in clean for ch in "😀👍❤😍🙌😡👎😞")
    # Exact duplicates only come from injected defects: no two clean texts share a content hash.
    hashes = Counter(content_hash(text) for text, _ in clean)
    assert hashes.most_common(1)[0][1] == 1


def test_clean_reviews_are_not_near_duplicates_of_each_other(dataset):
    clean = [
        dataset["rows"][label["rowid"]]["review_text"]
        for label in dataset["labels"]
        if label["expected_outcome"] == "clean"
        and isinstance(dataset["rows"][label["rowid"]]["review_text"], str)
        and label["defects"] in ([], ["pii_person"])
    ]
    shingled = [_shingles(text) for text in clean]
    index: dict[tuple, list[int]] = defaultdict(list)
    for i, shingles in enumerate(shingled):
        for shingle in shingles:
            index[shingle].append(i)
    for i, shingles in enumerate(shingled):
        candidates = Counter(j for shingle in shingles for j in index[shingle] if j > i)
        for j, shared in candidates.items():
            if shared >= 0.85 * len(shingles):
                assert _jaccard(shingles, shingled[j]) < 0.85, (clean[i], clean[j])


def test_every_defect_kind_is_present_and_labelled_with_its_outcome(dataset):
    labels = dataset["labels"]
    kinds = Counter(kind for label in labels for kind in label["defects"])
    assert set(kinds) == set(DEFECT_KINDS)
    assert kinds["huge"] == 1
    for label in labels:
        assert len(label["defects"]) <= 1  # one primary defect, so the expected reason is unambiguous
        reason = label["expected_reason"]
        assert label["expected_outcome"] == ("quarantine" if reason else "clean")
        assert reason is None or reason in QUARANTINE_REASONS
        if label["defects"] == ["short_noise"] and reason == "no_words":  # "👍👍👍": no letters at all
            continue
        if label["defects"] and label["defects"][0] in QUARANTINE_REASON:
            assert reason == QUARANTINE_REASON[label["defects"][0]]
    quarantine_rate = sum(label["expected_outcome"] == "quarantine" for label in labels) / len(labels)
    assert 0.05 <= quarantine_rate <= 0.15
    assert dataset["summary"].expected_quarantine == sum(
        label["expected_outcome"] == "quarantine" for label in labels
    )


def test_defect_rows_really_carry_their_defect(dataset):
    rows, labels = dataset["rows"], dataset["labels"]
    by_kind = defaultdict(list)
    for label in labels:
        for kind in label["defects"]:
            by_kind[kind].append((rows[label["rowid"]], label))
    insults = {lang: [n for pair in words["nouns"] for n in pair] for lang, words in TOXIC_WORDS.items()}

    for row, _ in by_kind["bad_rating"]:
        assert row["star_rating"] not in (1, 2, 3, 4, 5)
    assert {row["text_type"] for row, _ in by_kind["non_string_text"]} <= {"integer", "blob"}
    for row, _ in by_kind["empty_text"]:
        assert row["text_type"] == "text" and row["review_text"].strip() == ""
    for row, _ in by_kind["missing_review_id"]:
        assert row["review_id"] is None
    for row, _ in by_kind["missing_product_id"]:
        assert row["product_id"] in (None, "")
    for row, _ in by_kind["short_noise"]:
        assert len(row["review_text"].split()) < 5
    for row, _ in by_kind["spam"]:
        assert "www." in row["review_text"] or "http" in row["review_text"]
    for row, label in by_kind["toxic"]:
        assert label["star"] == 1
        assert any(word in row["review_text"] for word in insults[label["language"]])
    injections = [*INJECTIONS_MARKUP, *(s for pool in INJECTIONS.values() for s in pool)]
    for row, _ in by_kind["prompt_injection"]:
        assert any(s in row["review_text"] for s in injections)
    for row, _ in by_kind["html"]:
        assert "<p>" in row["review_text"]
    for row, _ in by_kind["zero_width_control"]:
        assert any(ch in row["review_text"] for ch in (*INVISIBLE, "\ufeff"))
    assert any(
        "\x00" in row["review_text"] for row, _ in by_kind["zero_width_control"]
    )  # NUL survives SQLite
    [(huge, _)] = by_kind["huge"]
    assert len(huge["review_text"]) >= 1_000_000


def test_about_a_third_of_the_markup_carries_a_script_or_style_block():
    """The demo dataset has only a few HTML rows, too few to count on one of them carrying a payload."""
    texts = [
        row["review_text"]
        for row, label in iter_labelled_reviews(
            seed=2,
            products=20,
            mean_reviews_per_product=10,
            days=3,
            end_date=END,
            defect_rate=0.5,
            defect_weights={"html": 1.0},
        )
        if label["defects"] == ["html"]
    ]
    assert len(texts) > 50 and all("<p>" in text for text in texts)
    with_payload = sum("<script" in text or "<style" in text for text in texts)
    assert 0.2 < with_payload / len(texts) < 0.5


def test_mojibake_is_real_and_repairable(dataset):
    """Each garbled text decodes back to clean UTF-8 by reversing one or two wrong decodings."""
    unsloppy = {ch: bytes([b]) for b, ch in enumerate(_SLOPPY_CP1252)}

    def undo(text: str) -> str:
        try:
            return text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return b"".join(unsloppy[ch] for ch in text).decode("utf-8")

    garbled = [
        dataset["rows"][label["rowid"]]["review_text"]
        for label in dataset["labels"]
        if label["defects"] == ["mojibake"]
    ]
    assert garbled
    for text in garbled:
        assert any(marker in text for marker in MOJIBAKE_MARKERS)
        repaired = undo(text)
        if any(marker in repaired for marker in MOJIBAKE_MARKERS):
            repaired = undo(repaired)
        assert not any(marker in repaired for marker in MOJIBAKE_MARKERS), repaired
        assert not repaired.isascii()


def test_copies_point_at_an_earlier_clean_review_of_the_same_or_a_recent_day(dataset):
    rows, labels = dataset["rows"], dataset["labels"]
    by_rowid = {label["rowid"]: label for label in labels}
    seen = Counter()
    days_back = Counter()
    for label in labels:
        if label["defects"] not in (
            ["duplicate_review_id"],
            ["exact_duplicate_text"],
            ["near_duplicate_text"],
        ):
            continue
        row, source = rows[label["rowid"]], rows[label["source_rowid"]]
        assert by_rowid[source["rowid"]]["expected_outcome"] == "clean"
        assert source["created_at"] < row["created_at"]
        kind = label["defects"][0]
        back = (
            date.fromisoformat(row["created_at"][:10]) - date.fromisoformat(source["created_at"][:10])
        ).days
        # A repeated id stays on its original's day; a copied text may copy one of the days before.
        assert back == 0 if kind == "duplicate_review_id" else 0 <= back <= CROSS_DAY_MAX_DAYS
        days_back[kind, back > 0] += 1
        if kind == "duplicate_review_id":
            assert row["review_id"] == source["review_id"]
            same = row["review_text"] == source["review_text"]
            assert label["expected_reason"] == ("duplicate_review_id" if same else "conflicting_review_id")
            seen[label["expected_reason"]] += 1
        elif kind == "exact_duplicate_text":
            assert row["review_id"] != source["review_id"] and row["review_text"] == source["review_text"]
            seen[kind] += 1
        else:
            assert row["review_text"] != source["review_text"]
            assert content_hash(row["review_text"]) != content_hash(source["review_text"])
            assert _jaccard(_shingles(row["review_text"]), _shingles(source["review_text"])) >= 0.85
            seen[kind] += 1
    assert set(seen) == {
        "duplicate_review_id",
        "conflicting_review_id",
        "exact_duplicate_text",
        "near_duplicate_text",
    }
    # Copies of an earlier day's review are there, labelled for quarantine like same-day ones, and so
    # are same-day copies (a window always holds those with their original).
    assert days_back["exact_duplicate_text", True] and days_back["exact_duplicate_text", False]
    assert days_back["near_duplicate_text", True] + days_back["near_duplicate_text", False] >= 2
    for label in labels:
        if label["defects"] in (["exact_duplicate_text"], ["near_duplicate_text"]):
            assert label["expected_outcome"] == "quarantine"
            assert label["expected_reason"] == QUARANTINE_REASON[label["defects"][0]]


def test_copies_across_days_are_deterministic():
    args = {"seed": 5, "products": 60, "mean_reviews_per_product": 30, "days": 10, "end_date": END}
    first = list(iter_labelled_reviews(**args))
    assert first == list(iter_labelled_reviews(**args))
    rows = {label["rowid"]: row for row, label in first}
    across = [
        label
        for _, label in first
        if "source_rowid" in label
        and rows[label["source_rowid"]]["created_at"][:10] < rows[label["rowid"]]["created_at"][:10]
    ]
    assert across and {label["defects"][0] for label in across} <= {
        "exact_duplicate_text",
        "near_duplicate_text",
    }


def test_planted_numbers_pass_their_check_digits(dataset):
    planted = defaultdict(list)
    for label in dataset["labels"]:
        for entity in label.get("pii", []):
            planted[entity["entity"]].append(entity["text"])
            assert entity["text"] in dataset["rows"][label["rowid"]]["review_text"]
    assert planted["IBAN_CODE"] and planted["CREDIT_CARD"]
    assert all(iban_valid(value) for value in planted["IBAN_CODE"])
    assert all(luhn_valid(value) for value in planted["CREDIT_CARD"])
    assert all(re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", ip) for ip in planted["IP_ADDRESS"])


def test_iban_and_luhn_helpers():
    assert iban_valid("DE89 3704 0044 0532 0130 00") and iban_valid("GB29NWBK60161331926819")
    assert not iban_valid("DE89 3704 0044 0532 0130 01") and not iban_valid("XX00 1234")
    assert luhn_valid("4111 1111 1111 1111") and luhn_valid("3782-822463-10005")
    assert not luhn_valid("4111 1111 1111 1112") and not luhn_valid("4111")
    import random

    rng = random.Random(0)
    for country, layout in sample_pii.BBAN_LAYOUT.items():
        for _ in range(50):
            iban = sample_pii.make_iban(rng, country, grouped=False)
            assert iban_valid(iban) and len(iban) == 4 + len(layout) and iban.startswith(country)
    assert all(luhn_valid(sample_pii.make_card_number(rng)) for _ in range(200))
    phones = {lang: sample_pii.make_phone(rng, lang) for lang in ("de", "fr", "es", "it", "nl")}
    assert re.fullmatch(r"\+49 30 \d{7}|01\d\d \d{8}", phones["de"])
    assert re.fullmatch(r"(\+33 |0)[67]( \d\d){4}", phones["fr"])


def test_names_addresses_and_links_are_of_the_review_language_and_follow_the_seed():
    import random

    from faker import Faker

    for language, locale in sample_pii.NAME_LOCALE.items():
        names = Faker(locale).provider("faker.providers.person")
        people = [sample_pii.make_person(random.Random(seed), language) for seed in range(40)]
        assert people == [sample_pii.make_person(random.Random(seed), language) for seed in range(40)]
        assert len(set(people)) > 30, language
        for person in people:
            assert any(
                person.startswith(f"{first} ") and person[len(first) + 1 :] in names.last_names
                for first in names.first_names
            ), (language, person)
        rng = random.Random(1)
        for _ in range(100):
            email, url = sample_pii.make_email(rng, language), sample_pii.make_url(rng, language)
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*@([a-z]+\.)?example\.(com|org|net)", email), email
            assert re.fullmatch(r"https?://[a-z0-9./~-]+", url) and ".example." in url, url


def test_polarized_products_have_bimodal_ratings(large_clean_labels):
    profiles = {p["product_id"]: p["profile"] for p in _products_of(seed=3, products=400, mean=25)}
    stars = defaultdict(Counter)
    for label in large_clean_labels:
        stars[profiles[label["product_id"]]][label["star"]] += 1
    polarized = stars["polarized"]
    total = sum(polarized.values())
    assert (polarized[1] + polarized[2]) / total >= 0.3
    assert (polarized[4] + polarized[5]) / total >= 0.4
    assert polarized[3] / total < 0.08
    negative = stars["mostly_negative"]
    assert (negative[1] + negative[2]) / sum(negative.values()) > 0.55


def _products_of(seed: int, products: int, mean: int) -> list[dict]:
    from sample_source import sample_products

    return sample_products(seed=seed, products=products, mean_reviews_per_product=mean)


def test_what_a_review_says_follows_its_stars_and_the_true_pros_and_cons(large_clean_labels):
    truth = {p["product_id"]: p for p in _products_of(seed=3, products=400, mean=25)}
    praised, praised_pros, blamed, blamed_cons = 0, 0, 0, 0
    for label in large_clean_labels:
        product = truth[label["product_id"]]
        for mention in label["aspects"]:
            if label["star"] == 5 and mention["polarity"] == "positive":
                assert mention["aspect"] not in product["cons"]
                praised += 1
                praised_pros += mention["aspect"] in product["pros"]
            if label["star"] == 1 and mention["polarity"] == "negative":
                assert mention["aspect"] not in product["pros"]
                blamed += 1
                blamed_cons += mention["aspect"] in product["cons"]
        if label["star"] in (4, 5):
            assert any(m["polarity"] == "positive" for m in label["aspects"])
        if label["star"] in (1, 2):
            assert any(m["polarity"] == "negative" for m in label["aspects"])
    assert praised_pros / praised > 0.75 and blamed_cons / blamed > 0.75


def test_created_at_is_inside_the_window(dataset):
    start = datetime(2026, 11, 6, tzinfo=UTC)
    end = datetime(2026, 11, 20, tzinfo=UTC)
    stamps = [datetime.fromisoformat(row["created_at"]) for row in dataset["rows"].values()]
    assert all(start <= s < end for s in stamps)
    assert all(
        row["created_at"].endswith("+00:00") and len(row["created_at"]) == 25
        for row in dataset["rows"].values()
    )
    assert {s.date() for s in stamps} == {start.date() + timedelta(days=d) for d in range(DAYS)}
    assert len({(s.hour, s.minute) for s in stamps}) > 500  # times spread over the day
    assert "reviews_created_at" in dataset["indexes"]


def test_fields_have_realistic_distributions(dataset):
    rows = list(dataset["rows"].values())
    votes = [row["helpful_votes"] for row in rows]
    assert sum(v == 0 for v in votes) / len(votes) > 0.5 and max(votes) >= 50
    verified = sum(row["verified_purchase"] for row in rows) / len(rows)
    assert 0.72 <= verified <= 0.88
    counts = [p["review_count"] for p in _products_of(seed=7, products=200, mean=30)]
    assert min(counts) == 3 and max(counts) >= 150


def test_the_one_megabyte_review_needs_a_big_enough_dataset():
    def huge_rows(**kwargs) -> int:
        return sum(
            "huge" in label["defects"]
            for _, label in iter_labelled_reviews(
                seed=1, products=6, mean_reviews_per_product=10, days=3, end_date=END, **kwargs
            )
        )

    assert huge_rows() == 0
    assert huge_rows(huge=True) == 1


def test_ground_truth_matches_the_database(dataset):
    rows, labels, products = dataset["rows"], dataset["labels"], dataset["products"]
    assert [label["rowid"] for label in labels] == sorted(rows)  # every row labelled, once
    assert {p["product_id"] for p in products} == set(dataset["db_products"])
    for product in products:
        assert dataset["db_products"][product["product_id"]][1:] == (product["category"], product["title"])
        assert product["profile"] in ("mostly_positive", "polarized", "mostly_negative", "mixed")
        assert product["pros"] and product["cons"] and not set(product["pros"]) & set(product["cons"])
        assert set(product["aspect_phrases"]) == {*product["pros"], *product["cons"]}
        summary = product["reference_summary"]
        assert len(summary["pros"]) == len(product["pros"]) and len(summary["cons"]) == len(product["cons"])
        assert summary["summary"]
    known = {p["product_id"] for p in products}
    for label in labels:
        row = rows[label["rowid"]]
        assert label["product_id"] in known
        if "missing_product_id" not in label["defects"]:
            assert row["product_id"] == label["product_id"]
        assert row["review_id"] == label["review_id"]
        if not label["defects"]:
            assert row["star_rating"] == label["star"]
    assert any(p["profile"] == "polarized" for p in products)
    assert any(p["profile"] == "mostly_negative" for p in products)


def test_custom_defect_mix_gives_a_labelled_toxicity_set():
    pairs = list(
        iter_labelled_reviews(
            seed=2,
            products=20,
            mean_reviews_per_product=10,
            days=3,
            end_date=END,
            defect_rate=0.5,
            defect_weights={"toxic": 1.0},
        )
    )
    kinds = Counter(kind for _, label in pairs for kind in label["defects"])
    assert set(kinds) == {"toxic"} and 0.35 < kinds["toxic"] / len(pairs) < 0.65
    with pytest.raises(ValueError, match="unknown defect kinds"):
        next(iter_labelled_reviews(defect_weights={"no_such_kind": 1.0}))


def test_cli_seeds_a_database_and_prints_the_summary(tmp_path):
    db = tmp_path / "cli.db"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sample_source",
            "--db",
            str(db),
            "--ground-truth",
            str(tmp_path / "truth"),
            "--seed",
            "4",
            "--products",
            "8",
            "--mean-reviews",
            "6",
            "--days",
            "3",
            "--end-date",
            "2026-11-20",
            "--defect-rate",
            "0.2",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    summary = json.loads(result.stdout)
    conn = sqlite3.connect(db)
    (count,) = conn.execute("SELECT count(*) FROM reviews").fetchone()
    conn.close()
    assert summary["rows"] == count > 0
    assert summary["db_path"] == str(db)
    assert len((tmp_path / "truth" / "review_labels.jsonl").read_text().splitlines()) == count


def test_the_retrieval_queries_name_english_reviews_by_meaning_not_by_their_words(dataset):
    """The local embedding gate's set: every judged review is an English one labelled with the aspect,
    and no query is a sentence of any review, so a query cannot find its reviews by copying them."""
    path = dataset["root"] / "truth" / "retrieval_queries.jsonl"
    queries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(queries) >= 20
    english = {label["review_id"]: label for label in dataset["labels"] if label["language"] == "en"}
    sentences = {
        sentence.strip().lower()
        for row in dataset["rows"].values()
        for sentence in re.split(r"[.!?\n]+", str(row["review_text"]))
    }
    for query in queries:
        assert query["language"] == "en" and set(query["relevant"].values()) <= {1, 2}
        assert 2 in query["relevant"].values()
        assert set(query["relevant"]) <= set(english)
        assert query["query"].lower() not in sentences, query["query"]
