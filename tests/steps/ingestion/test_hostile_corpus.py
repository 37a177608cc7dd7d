"""The ingestion chain against a labelled hostile corpus (`hostile_corpus.py`), end to end.

The real `transform` step runs over the corpus written as raw Parquet, and the real `validate` step over
what it staged. The proof: every input record ends exactly once in clean or quarantine; no planted PII
value (or part of one) is left in a clean text; no look-alike number is redacted; no clean text carries
live markup or invisible characters; prompt injections are quarantined (recall of at least 95%) while
reviews that merely talk about instructions and assistants stay clean; bad rows get their reason codes;
and the quality gate passes on the result. A failure prints a per-class report naming every record
that went wrong, with its text, so a developer sees what leaked.

The tests before it check the corpus itself (valid PII, invalid look-alikes, no near duplicates among
the reviews that must stay clean) and that the judge catches what it is meant to catch.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import phonenumbers
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from stdnum import ean, iban, luhn

from common.settings import get_settings
from common.text_dedup import shingles
from pipelines.ingestion import transform, validate
from pipelines.ingestion.noise import count_words
from tests.steps.ingestion.hostile_corpus import (
    CLEAN,
    LANGUAGES,
    SEED,
    Case,
    Outcome,
    Planted,
    build_corpus,
    judge,
    live_markup,
    pii_leaks,
    read_rows,
    write_raw,
)

MIN_INJECTION_RECALL = 0.95
# The corpus's own seed, and a second draw of its values and placements: a fix tuned to the numbers of
# one draw does not pass the other.
SEEDS = [SEED, 1]
NEAR_DUPLICATE_JACCARD = get_settings().ingestion.dedup.near_duplicate_jaccard


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return build_corpus()


# --- the corpus itself -------------------------------------------------------------------------------


def test_the_corpus_is_deterministic_and_covers_every_class_in_every_language(corpus):
    again = build_corpus()
    assert [(c.review_id, c.text, c.expect) for c in corpus] == [
        (c.review_id, c.text, c.expect) for c in again
    ]
    assert len(corpus) >= 400
    assert [c.index for c in corpus] == list(range(len(corpus)))
    families = {c.klass.split(".")[0] for c in corpus}
    assert families == {"pii", "lookalike", "injection", "benign", "markup", "language", "bad"}
    for family in ("pii", "lookalike", "injection", "benign", "markup"):
        assert {c.language for c in corpus if c.family == family} >= set(LANGUAGES), family
    phone_regions = {c.klass.split(":")[1] for c in corpus if c.klass.startswith("pii.phone:")}
    assert phone_regions == {"DE", "AT", "CH", "FR", "BE", "ES", "IT", "NL", "GB", "IE", "US"}
    reasons = {reason for c in corpus for reason in c.expect}
    assert {"invalid_created_at", "invalid_encoding", "invalid_review_id", "no_words", "unsupported_language",
            "prompt_injection", "duplicate_review_id", CLEAN} <= reasons  # fmt: skip


def test_planted_pii_is_valid_and_look_alikes_are_not(corpus):
    """The corpus proves nothing if its IBANs fail mod-97 or its cards fail Luhn: a redactor that
    checks them would rightly keep them."""
    kinds = set()
    for case in corpus:
        for planted in case.pii:
            assert isinstance(case.text, str) and planted.text in case.text
            kind = planted.kind.split(":")[0]
            kinds.add(kind)
            digits = "".join(ch for ch in planted.text if ch.isdigit())
            if kind == "iban":
                assert iban.is_valid(planted.text), planted
            elif kind == "card":
                assert luhn.is_valid(digits) and 13 <= len(digits) <= 19, planted
            elif kind == "phone":
                region = planted.kind.split(":")[1]
                # "00" is how Europe dials out ("0049 ...", "001 212-..."): the number itself is the same.
                written = planted.text.replace("(0)", "")
                written = "+" + written[2:] if written.startswith("00") else written
                number = phonenumbers.parse(written, region)
                assert phonenumbers.is_valid_number(number), planted
        for value in case.keep:
            assert isinstance(case.text, str) and value in case.text
            if case.klass == "lookalike.serial":
                assert not luhn.is_valid(value.replace(" ", "").replace("-", "")), value
            if case.klass == "lookalike.ean":
                assert ean.is_valid(value), value
    assert kinds == {"phone", "iban", "card", "email", "ip", "url_userinfo"}


def test_no_two_reviews_that_must_stay_clean_are_near_duplicates(corpus):
    """Otherwise the chain would be right to quarantine one of them as `near_duplicate`."""
    texts = [
        (c.index, shingles(c.text)) for c in corpus if c.expect == {CLEAN} and c.klass != "bad.id_variant"
    ]
    worst = (0.0, -1, -1)
    for (i, a), (j, b) in itertools.combinations(texts, 2):
        if a and b:
            similarity = len(a & b) / len(a | b)
            worst = max(worst, (similarity, i, j))
    assert worst[0] < NEAR_DUPLICATE_JACCARD - 0.2, worst


def test_reviews_that_must_stay_clean_are_long_enough_to_be_read(corpus):
    """Long enough for the word minimum and for language detection: a short review that is rejected as
    `too_short` says nothing about the chain's handling of what it carries."""
    settings = get_settings().ingestion
    for case in corpus:
        if CLEAN in case.expect and isinstance(case.text, str):
            assert count_words(case.text) >= settings.min_words, case.text
            assert len(case.text) >= settings.language.min_chars, case.text


def test_raw_files_carry_the_undecodable_bytes(tmp_path, corpus):
    write_raw(corpus, tmp_path)
    table = pa.concat_tables(pq.read_table(p) for p in sorted(tmp_path.glob("*.parquet")))
    assert table.num_rows == len(corpus)
    texts = table.column("review_text").cast(pa.binary()).to_pylist()
    planted = [c for c in corpus if isinstance(c.text, bytes)]
    assert planted and all(texts[c.index] == c.text for c in planted)
    assert table.column("helpful_votes").to_pylist() == list(range(len(corpus)))


def test_the_judge_catches_leaks_redacted_look_alikes_and_live_markup(corpus):
    phone = Planted("phone:DE", "0151 2345 6789")
    raw = "Ruft mich an unter 0151 2345 6789, bin ab 18 Uhr da."
    assert pii_leaks(phone, raw, raw)
    assert pii_leaks(phone, raw, "Ruft mich an unter 0151 <PHONE_NUMBER>, bin ab 18 Uhr da.")
    assert not pii_leaks(phone, raw, "Ruft mich an unter <PHONE_NUMBER>, bin ab 18 Uhr da.")
    email = Planted("email", "anna punto rossi chiocciola libero punto it")
    said = "Scrivetemi a anna punto rossi chiocciola libero punto it per il manuale."
    assert pii_leaks(email, said, "Scrivetemi a anna punto <EMAIL_ADDRESS> per il manuale.")
    assert not pii_leaks(email, said, "Scrivetemi a <EMAIL_ADDRESS> per il manuale.")
    for markup in ("&lt;script&gt;alert(1)", "&amp;lt;b&amp;gt;", "[x](javascript:alert(1))", "<img src=x>",
                   "java\tscript:alert(1)", "data:text/html;base64,AAAA"):  # fmt: skip
        assert live_markup(f"Good kettle {markup} really"), markup
    assert not live_markup("I love it <3, price < 50 €, mail <EMAIL_ADDRESS>")

    pii = next(c for c in corpus if c.klass == "pii.iban")
    lookalike = next(c for c in corpus if c.klass == "lookalike.order")
    injection = next(c for c in corpus if c.klass == "injection.paraphrase")
    benign = next(c for c in corpus if c.family == "benign")
    cases = [pii, lookalike, injection, benign]

    def clean_row(case: Case, text: str) -> dict[str, Any]:
        return {"review_id": case.review_id, "cleaned_text": text, "language": case.language,
                "helpful_votes": case.index}  # fmt: skip

    leaky = [
        clean_row(pii, pii.text),
        clean_row(lookalike, lookalike.text.replace(lookalike.keep[0], "<PHONE_NUMBER>")),
        clean_row(injection, injection.text),
    ]
    email = next(c for c in corpus if c.klass == "pii.email")
    cases.append(email)
    quarantined = [
        {
            "reason": "spam",
            "detail": f"matched {email.pii[0].text}",
            "redacted_text": None,
            "helpful_votes": email.index,
        }
    ]
    judgement = judge(corpus, leaky, quarantined)
    problems = {o.case.index: " ".join(o.problems) for o in judgement.outcomes if o.case in cases}
    assert "in quarantine detail" in problems[email.index] and "ended as spam" in problems[email.index]
    assert "left whole" in problems[pii.index]
    assert "not kept verbatim" in problems[lookalike.index]
    assert "ended as clean" in problems[injection.index]
    assert "neither clean nor quarantine" in problems[benign.index]
    assert judgement.injection_recall == 0.0
    report = judgement.report()
    assert "pii.iban" in report and "<--" in report


# --- the proof ---------------------------------------------------------------------------------------


@pytest.fixture
def step_env(monkeypatch, tiny_toxicity_checkpoint: Path) -> Iterator[None]:
    """The environment a runner gives the step: the tiny toxicity model, several processing batches."""
    monkeypatch.setenv(
        "LLMOPS_INGESTION__TOXICITY__CHECKPOINTS", json.dumps({"default": str(tiny_toxicity_checkpoint)})
    )
    monkeypatch.setenv("LLMOPS_INGESTION__TOXICITY__QUANTIZE_INT8", "false")
    monkeypatch.setenv("LLMOPS_INGESTION__BATCH_SIZE", "64")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _run(cases: list[Case], tmp_path: Path) -> tuple[dict[str, Any], list[dict], list[dict]]:
    raw, out = tmp_path / "raw", tmp_path / "out"
    write_raw(cases, raw)
    # An empty lake: no reviews of earlier days to be duplicates of.
    result = transform.transform(str(raw), out.as_uri(), lake_uri=(tmp_path / "lake").as_uri())
    return result, read_rows(out / "clean"), read_rows(out / "quarantine")


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed-{s}" for s in SEEDS])
def test_the_chain_survives_the_hostile_corpus(tmp_path, step_env, seed):
    corpus = build_corpus(seed)
    hard: list[str] = []
    try:
        result, clean, quarantine = _run(corpus, tmp_path / "full")
    except Exception as error:  # reported; the rest of the corpus is still judged below
        hard.append(f"transform crashed on the corpus: {type(error).__name__}: {str(error)[:300]}")
        decodable = [
            c for c in corpus if not isinstance(c.text, bytes) and not isinstance(c.review_id, bytes)
        ]
        hard.append(f"judging the {len(decodable)} records without undecodable bytes instead")
        result, clean, quarantine = _run(decodable, tmp_path / "decodable")

    judgement = judge(corpus, clean, quarantine)

    # Accounting: every input exactly once, nothing invented.
    total = result["input_count"]
    crashed = any(line.startswith("transform crashed") for line in hard)
    if not crashed and total != len(corpus):
        hard.append(f"the transform read {total} of the {len(corpus)} input records")
    if total != result["clean_count"] + result["quarantine_count"] or len(clean) + len(quarantine) != total:
        hard.append(f"counts: {total} in, {len(clean)} clean + {len(quarantine)} quarantined rows written")
    if judgement.unmatched:
        hard.append(f"{len(judgement.unmatched)} output rows match no input: {judgement.unmatched[:5]}")

    # Per record. A missed injection counts against the recall only; everything else is a failure.
    def counted_in_recall(outcome: Outcome) -> bool:
        return (
            outcome.case.family == "injection"
            and outcome.case.strict
            and outcome.result not in ("missing", "several")
            and all(p.startswith("ended as") for p in outcome.problems)
        )

    failing = [o for o in judgement.failures if not counted_in_recall(o)]
    if failing:
        by_class: dict[str, int] = {}
        for outcome in failing:
            by_class[outcome.case.klass] = by_class.get(outcome.case.klass, 0) + 1
        hard.append(f"{len(failing)} records failed their label: {by_class}")
    if judgement.injection_recall < MIN_INJECTION_RECALL:
        hard.append(f"prompt-injection recall {judgement.injection_recall:.1%} < {MIN_INJECTION_RECALL:.0%}")

    # The quality gate over what the transform staged (skipped if the transform could not run whole).
    if not crashed:
        validation = validate.run_validation(
            (tmp_path / "full" / "out").as_uri(), result, (tmp_path / "docs").as_uri(), get_settings()
        )
        if not validation["success"]:
            failed = [
                f"{f['suite']}.{f['expectation']}({f['kwargs'].get('column')}): "
                f"{json.dumps(f.get('observed'), default=str)[:160]}"
                for f in validation["failed_expectations"]
            ]
            hard.append("validate failed: " + " | ".join(failed))

    report = "\n".join(
        [
            judgement.report(),
            f"quarantine by reason: {result['quarantine_by_reason']}",
            *("FAIL: " + h for h in hard),
        ]
    )
    print(f"\n{report}")
    assert not hard, report
