"""The ingestion quality gate: Great Expectations over staged runs the tests write themselves."""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import storage
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW
from common.settings import get_settings
from common.step_entrypoint import EXIT_OK, EXIT_QUALITY_GATE
from pipelines.ingestion import validate
from pipelines.ingestion.pii_audit import CANARIES, PiiAuditor
from tests.aws_server import create_bucket

DT = "2026-11-18"
MAX_CHARS = get_settings().ingestion.max_clean_chars


def clean_row(i: int, **overrides: Any) -> dict[str, Any]:
    row = {
        "review_id": f"r{i}",
        "product_id": f"p{i % 3}",
        "star_rating": 1 + i % 5,
        "cleaned_text": f"Solid kettle number {i}, boils fast, the lid closes well. Mail <EMAIL_ADDRESS>.",
        "language": ["en", "de", "fr", "es", "it", "nl"][i % 6],
        "toxicity_score": 0.01,
        "created_at": datetime(2026, 11, 18, 12, tzinfo=UTC),
        "helpful_votes": i,
        "verified_purchase": True,
        "content_hash": f"{i:064x}",
        "pii_entities": ["EMAIL_ADDRESS"],
    }
    return {**row, **overrides}


def quarantine_row(i: int) -> dict[str, Any]:
    return {
        "review_id": f"q{i}",
        "product_id": "p0",
        "reason": "spam",
        "detail": "matched a spam pattern",
        "star_rating": "5",
        "redacted_text": "BUY NOW cheap followers",
        "text_type": "str",
        "created_at": datetime(2026, 11, 18, 13, tzinfo=UTC),
        "helpful_votes": 0,
        "verified_purchase": False,
    }


def write_partition(
    staged: Path, kind: str, dt: str, rows: list[dict], schema: pa.Schema, row_group_size: int | None = None
) -> None:
    folder = staged / kind / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pylist(rows, schema=schema),
        folder / "part-00000.parquet",
        row_group_size=row_group_size,
    )


def stage(
    tmp_path: Path,
    clean: list[dict],
    quarantine: list[dict],
    clean_schema: pa.Schema = CLEAN_REVIEW,
    counts: dict[str, int] | None = None,
    row_group_size: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """A staged run like the transform writes one, and its transform result."""
    staged = tmp_path / "staged"
    if clean:
        write_partition(staged, "clean", DT, clean, clean_schema, row_group_size)
    if quarantine:
        write_partition(staged, "quarantine", DT, quarantine, QUARANTINE_REVIEW)
    result = {
        "input_count": len(clean) + len(quarantine),
        "clean_count": len(clean),
        "quarantine_count": len(quarantine),
        **(counts or {}),
    }
    return staged.as_uri(), result


def validate_run(tmp_path: Path, staged_uri: str, transform_result: dict) -> dict[str, Any]:
    return validate.run_validation(staged_uri, transform_result, (tmp_path / "docs").as_uri(), get_settings())


def published_text(result: dict[str, Any], docs: Path) -> str:
    """Everything a run publishes about itself: the result JSON and every Data Docs page."""
    return json.dumps(result) + "".join(p.read_text() for p in docs.rglob("*.html"))


def failed(result: dict[str, Any]) -> dict[tuple[str, str, str], dict]:
    """Failing expectations by (suite, expectation, column)."""
    return {
        (f["suite"], f["expectation"], f["kwargs"].get("column") or f["kwargs"].get("column_A")): f[
            "observed"
        ]
        for f in result["failed_expectations"]
    }


def summary_count(failures: dict[tuple[str, str, str], dict], column: str) -> int:
    """The count a failed run-summary bound observed (JSON holds it as the string of a numpy int)."""
    return int(failures[("run_summary", "expect_column_max_to_be_between", column)]["observed_value"])


GOOD_CLEAN = [clean_row(i) for i in range(12)]
GOOD_QUARANTINE = [quarantine_row(i) for i in range(2)]


def test_a_good_run_passes_and_writes_data_docs(tmp_path: Path):
    staged_uri, transform_result = stage(tmp_path, GOOD_CLEAN, GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    assert result["success"], result["failed_expectations"]
    assert result["failed_expectations"] == []
    stats = result["statistics"]
    assert stats["evaluated_expectations"] == stats["successful_expectations"] > 15
    assert stats["unsuccessful_expectations"] == 0
    assert result["suites"]["clean_reviews"]["rows"] == 12
    assert result["partitions"] == [DT]
    index = Path(storage.local_path(result["data_docs_index_uri"]))
    assert index.is_file()
    html = index.read_text()
    assert all(suite in html for suite in ("staged_files", "clean_reviews", "run_summary"))
    assert len(list(index.parent.glob("validations/**/*.html"))) == 3
    pages = "".join(p.read_text() for p in index.parent.glob("validations/**/*.html"))
    assert "residual_pii_reviews" in pages and "pii_canaries_planted" in pages  # the audit's counts
    audit = result["pii_audit"]
    assert audit["reviews_with_pii"] == 0 and audit["review_ids"] == {}
    assert audit["canaries"]["caught"] == audit["canaries"]["planted"]
    assert sum(audit["canaries"]["planted"].values()) == len(CANARIES)  # one row group


def test_an_empty_window_passes(tmp_path: Path):
    staged_uri, transform_result = stage(tmp_path, [], [])
    result = validate_run(tmp_path, staged_uri, transform_result)
    assert result["success"]
    # The audit is proven on every run: with no text to plant them into, canaries stand alone.
    assert sum(result["pii_audit"]["canaries"]["caught"].values()) == len(CANARIES)


def test_every_kind_of_bad_clean_review_is_caught_and_named(tmp_path: Path):
    """Bad reviews among good ones fail the clean-review suite, each expectation naming its bad values."""
    threshold = get_settings().thresholds.ingestion.toxicity_quarantine
    bad = [
        clean_row(90, review_id="r3"),  # a duplicate id
        clean_row(91, review_id=None),
        clean_row(92, product_id=None),
        clean_row(93, star_rating=7),
        clean_row(94, language="pt"),
        clean_row(95, cleaned_text=""),
        clean_row(96, cleaned_text="é" * (MAX_CHARS + 1)),  # counted in characters, not UTF-8 bytes
        clean_row(97, toxicity_score=0.95),
        clean_row(89, toxicity_score=-0.1),  # not a probability
        clean_row(98, toxicity_score=threshold),  # at the threshold is toxic, not clean
        clean_row(99, content_hash=None),
    ]
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, *bad], GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    assert not result["success"]
    assert result["suites"]["clean_reviews"]["success"] is False
    assert result["suites"]["staged_files"]["success"] is True
    assert result["suites"]["run_summary"]["success"] is True
    failures = failed(result)

    def unexpected(expectation: str, column: str) -> list:
        return sorted(
            c["value"] for c in failures[("clean_reviews", expectation, column)]["partial_unexpected_counts"]
        )

    assert unexpected("expect_column_values_to_be_unique", "review_id") == ["r3"]
    assert (
        failures[("clean_reviews", "expect_column_values_to_not_be_null", "review_id")]["unexpected_count"]
        == 1
    )
    assert (
        failures[("clean_reviews", "expect_column_values_to_not_be_null", "product_id")]["unexpected_count"]
        == 1
    )
    assert (
        failures[("clean_reviews", "expect_column_values_to_not_be_null", "content_hash")]["unexpected_count"]
        == 1
    )
    assert unexpected("expect_column_values_to_be_between", "star_rating") == [7]
    assert unexpected("expect_column_values_to_be_in_set", "language") == ["pt"]
    assert unexpected("expect_column_values_to_be_between", "cleaned_text_chars") == [0, MAX_CHARS + 1]
    toxicity = {
        f["kwargs"].get("strict_max", False): f["observed"]
        for f in result["failed_expectations"]
        if f["kwargs"].get("column") == "toxicity_score"
    }
    assert [c["value"] for c in toxicity[False]["partial_unexpected_counts"]] == [pytest.approx(-0.1)]
    assert sorted(c["value"] for c in toxicity[True]["partial_unexpected_counts"]) == [
        pytest.approx(threshold),
        pytest.approx(0.95),
    ]
    assert result["statistics"]["unsuccessful_expectations"] == len(result["failed_expectations"]) == 9
    assert Path(storage.local_path(result["data_docs_index_uri"])).is_file()  # written on failure too


def test_residual_pii_fails_without_copying_the_pii_anywhere(tmp_path: Path):
    email, iban = "jane.doe@example.org", "DE89370400440532013000"
    leaky = clean_row(99, cleaned_text=f"Write to {email} or pay to {iban}, great kettle otherwise.")
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, leaky], GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    observed = failed(result)[("clean_reviews", "expect_column_values_to_be_null", "residual_pii")]
    assert [c["value"] for c in observed["partial_unexpected_counts"]] == ["EMAIL_ADDRESS,IBAN_CODE"]
    published = json.dumps(result) + "".join(p.read_text() for p in (tmp_path / "docs").rglob("*.html"))
    assert email not in published and iban not in published


# Review id -> a clean text that still holds PII, and the entity: the forms redaction has let through.
LEAKS = {
    "leak-de-mobile": ("Super Mixer! Bei Fragen ruft an: 0151 2345 6789, gern auch abends.", "PHONE_NUMBER"),
    "leak-de-international": ("Top Gerät, meine Nummer +49 151 23456789 für Fragen.", "PHONE_NUMBER"),
    "leak-fr-00": ("Très bien. Appelez le 0033 6 12 34 56 78 pour le tester.", "PHONE_NUMBER"),
    "leak-iban": ("Erstattung bitte auf de89 3704 0044 0532 0130 00, danke!", "IBAN_CODE"),
    "leak-visa": ("The card 4111.1111.1111.1111 was charged twice for one kettle.", "CREDIT_CARD"),
    "leak-mastercard": ("Karte 2221.0000.0000.0009 wurde doppelt belastet.", "CREDIT_CARD"),
    "leak-maestro": ("La carta 6799.9901.0000.0000.019 è stata addebitata due volte.", "CREDIT_CARD"),
    "leak-email-en": ("Great blender, write to jane dot doe at example dot com for photos.", "EMAIL_ADDRESS"),
    "leak-email-de": ("Fotos gibt es über max.mustermann (at) example (punkt) de.", "EMAIL_ADDRESS"),
    "leak-email-fr": ("Écrivez à jean.dupont arobase example point fr pour les photos.", "EMAIL_ADDRESS"),
    "leak-email-es": ("Escríbeme a juan punto perez arroba example punto es si quieres.", "EMAIL_ADDRESS"),
    "leak-email-it": ("Scrivimi a mario.rossi chiocciola example punto it per le foto.", "EMAIL_ADDRESS"),
    "leak-email-nl": ("Mail naar jan.jansen apenstaartje example punt nl voor foto's.", "EMAIL_ADDRESS"),
    "leak-ipv6": ("Der Router vergibt 2001:db8:85a3::8a2e:370:7334 und fällt ständig aus.", "IP_ADDRESS"),
    "leak-url": ("Live view at https://jdoe:s3cret@example.com/cam shows it.", "URL"),
}


# Parts of the leaked values, so that a leak copied in part (or normalized) is caught too.
LEAK_FRAGMENTS = (
    "0151 2345 6789",
    "23456789",
    "de89",
    "4111.1111",
    "6799.9901",
    "jane dot doe",
    "arobase",
    "chiocciola",
    "apenstaartje",
    "8a2e:370",
    "s3cret",
    "0032013000",
)


def test_every_kind_of_residual_pii_fails_the_run_naming_ids_and_types_only(tmp_path: Path, caplog):
    leaky = [
        clean_row(100 + i, review_id=rid, cleaned_text=text)
        for i, (rid, (text, _)) in enumerate(LEAKS.items())
    ]
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, *leaky], GOOD_QUARANTINE)
    with caplog.at_level(logging.INFO):
        code, written = cli(tmp_path, staged_uri, transform_result)

    assert code == EXIT_QUALITY_GATE and written["success"] is False
    audit = written["pii_audit"]
    assert audit["review_ids"] == {rid: [entity] for rid, (_, entity) in LEAKS.items()}
    assert audit["reviews_with_pii"] == len(LEAKS)
    expected_counts = Counter(entity for _, entity in LEAKS.values())
    assert audit["by_entity"] == {e: expected_counts[e] for e in audit["entities"]}
    assert audit["canaries"]["caught"] == audit["canaries"]["planted"]  # the detector itself is sound
    failures = failed(written)
    assert failures[("clean_reviews", "expect_column_values_to_be_null", "residual_pii")][
        "unexpected_count"
    ] == len(LEAKS)
    assert summary_count(failures, "residual_pii_reviews") == len(LEAKS)
    for entity, count in expected_counts.items():
        assert summary_count(failures, f"residual_pii_{entity}") == count
    assert all(key[0] != "staged_files" for key in failures)
    # Ids and entity types are published, the text is not: not in the result, Data Docs or the log.
    published = published_text(written, tmp_path / "docs") + caplog.text
    assert "leak-de-mobile" in caplog.text
    for text, _ in LEAKS.values():
        assert text not in published
    for fragment in LEAK_FRAGMENTS:
        assert fragment not in published, fragment


def test_realistic_reviews_full_of_numbers_pass(tmp_path: Path):
    """Order numbers, Luhn-invalid card-length numbers, ten-digit ids, dates, prices, versions, EANs and
    postal codes are not PII: one false alarm would stop a whole day's publication."""
    texts = [
        "Bestellnummer 4111 1111 1111 1112, schnell geliefert, top Wasserkocher.",
        "Order 302-1234567-1234567 arrived on 03.12.2018, two days early. Five stars.",
        "Bestell-Nr. 028-1234567-1234567: Lieferung am 2019-05-12, alles bestens.",
        "Bestellnummer 3025551234, geliefert nach 10115 Berlin. Sehr zufrieden.",
        "Commande 1234567890 reçue le 12/05/2019 à Paris 75001, prix 1 299 € au lieu de 1 499 €.",
        "Pedido 405-1234567-7654321, llegó a Madrid 28001 el 05/03/2020. Precio 39,99 €.",
        "Firmware 2.1.0.3 installato, poi aggiornato a 1.0.12.4: funziona, EAN 4006381333931.",
        "Na update 2.1.0.3 werkt hij prima. Afmetingen 30 x 40 x 50 cm, 220-240 V, 50/60 Hz.",
        "Battery 10.000 mAh, 1920x1080 screen, 16 GB, i7-8700K; bought it at amazon.com for 199.99 dollars.",
        "Kundennummer 0123456, Rechnung 2019-123456, Sendungsnummer 00340434161234567890.",
        "Redacted: <PHONE_NUMBER>, <EMAIL_ADDRESS>, <IBAN_CODE>, <CREDIT_CARD>, <IP_ADDRESS>, <URL>.",
        "Größen 36 38 40 42 44 46 probiert, von 2015-2019 im Einsatz, ISBN 978-3-16-148410-0.",
    ]
    rows = [clean_row(200 + i, cleaned_text=text) for i, text in enumerate(texts)]
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, *rows], GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    assert result["success"], result["failed_expectations"]
    assert result["pii_audit"]["reviews_with_pii"] == 0
    planted = result["pii_audit"]["canaries"]["planted"]
    assert result["pii_audit"]["canaries"]["caught"] == planted and sum(planted.values()) == len(CANARIES)
    # The canaries were planted into shadow copies only: nothing of them is published.
    published = published_text(result, tmp_path / "docs")
    assert not [c.value for c in CANARIES if c.value in published]


def test_a_broken_auditor_fails_the_run_through_its_canaries(tmp_path: Path, monkeypatch):
    """An audit that cannot see phone numbers finds no leak, yet the run fails: its canaries are missed."""
    monkeypatch.setattr(PiiAuditor, "phones", lambda self, text: [])
    leak = clean_row(
        99, review_id="leak", cleaned_text="Bei Fragen ruft an: 0151 2345 6789, gern auch abends."
    )
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, leak], GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    assert not result["success"]
    phones = sum(1 for c in CANARIES if c.entity == "PHONE_NUMBER")
    audit = result["pii_audit"]
    assert audit["reviews_with_pii"] == 0  # the leak went unseen...
    assert audit["canaries"]["planted"]["PHONE_NUMBER"] == phones
    assert audit["canaries"]["caught"]["PHONE_NUMBER"] == 0  # ...and the canaries tell
    failures = failed(result)
    assert summary_count(failures, "pii_canaries_missed_PHONE_NUMBER") == phones
    assert ("run_summary", "expect_column_pair_values_to_be_equal", "pii_canaries_caught") in failures
    assert {key[2] for key in failures} == {"pii_canaries_missed_PHONE_NUMBER", "pii_canaries_caught"}


def test_numbers_that_only_look_like_pii_pass(tmp_path: Path):
    """An order number of card length that fails Luhn is not a card: redaction kept it, and so may the
    gate, or one such review would stop the whole run."""
    order = clean_row(
        99, cleaned_text="Bestellnummer 4111 1111 1111 1112, schnell geliefert, top Wasserkocher."
    )
    staged_uri, transform_result = stage(tmp_path, [*GOOD_CLEAN, order], GOOD_QUARANTINE)
    result = validate_run(tmp_path, staged_uri, transform_result)

    assert result["success"], result["failed_expectations"]


def test_a_file_with_another_schema_fails(tmp_path: Path):
    wrong = pa.schema(
        [f if f.name != "star_rating" else pa.field("star_rating", pa.int64()) for f in CLEAN_REVIEW]
    )
    staged_uri, transform_result = stage(tmp_path, GOOD_CLEAN, GOOD_QUARANTINE, clean_schema=wrong)
    result = validate_run(tmp_path, staged_uri, transform_result)

    observed = failed(result)[("staged_files", "expect_column_pair_values_to_be_equal", "schema")]
    [[found, expected]] = [c["value"] for c in observed["partial_unexpected_counts"]]
    assert "star_rating: int64" in found and "star_rating: int8" in expected


def test_a_badly_named_partition_fails(tmp_path: Path):
    staged_uri, transform_result = stage(tmp_path, GOOD_CLEAN, [])
    (tmp_path / "staged" / "clean" / f"dt={DT}").rename(tmp_path / "staged" / "clean" / "dt=18.11.2026")
    failures = failed(validate_run(tmp_path, staged_uri, transform_result))
    assert ("staged_files", "expect_column_values_to_match_strftime_format", "dt") in failures


def test_duplicates_are_found_across_row_groups(tmp_path: Path):
    rows = [*GOOD_CLEAN, clean_row(50, review_id="r0")]
    staged_uri, transform_result = stage(tmp_path, rows, [], row_group_size=4)
    file = tmp_path / "staged" / "clean" / f"dt={DT}" / "part-00000.parquet"
    assert pq.ParquetFile(file).num_row_groups == 4
    result = validate_run(tmp_path, staged_uri, transform_result)
    assert result["suites"]["clean_reviews"]["rows"] == 13
    assert ("clean_reviews", "expect_column_values_to_be_unique", "review_id") in failed(result)
    assert sum(result["pii_audit"]["canaries"]["planted"].values()) == 4 * len(CANARIES)  # per row group


SUMMARY_FAILURES = [
    ("too many quarantined", 2, 8, {}, "quarantine_rate"),
    ("no clean review out of some input", 0, 3, {}, "clean_count"),
    ("a review was lost", 12, 2, {"input_count": 15}, "input_count"),
    (
        "the staged files hold other rows than reported",
        12,
        2,
        {"clean_count": 11, "input_count": 13},
        "staged_clean_rows",
    ),
]


@pytest.mark.parametrize(("case", "n_clean", "n_quarantine", "counts", "column"), SUMMARY_FAILURES,
                         ids=[c[0] for c in SUMMARY_FAILURES])  # fmt: skip
def test_run_level_gates(tmp_path: Path, case, n_clean, n_quarantine, counts, column):
    quarantine = [quarantine_row(i) for i in range(n_quarantine)]
    staged_uri, transform_result = stage(tmp_path, GOOD_CLEAN[:n_clean], quarantine, counts=counts)
    result = validate_run(tmp_path, staged_uri, transform_result)
    assert result["suites"]["run_summary"]["success"] is False
    assert any(key[0] == "run_summary" and key[2] == column for key in failed(result)), failed(result)


def test_thresholds_come_from_the_settings(tmp_path: Path, monkeypatch):
    staged_uri, transform_result = stage(tmp_path, GOOD_CLEAN, GOOD_QUARANTINE)  # 2/14 quarantined
    monkeypatch.setenv("LLMOPS_THRESHOLDS__INGESTION__MAX_QUARANTINE_RATE", "0.1")
    get_settings.cache_clear()
    try:
        failures = failed(validate_run(tmp_path, staged_uri, transform_result))
    finally:
        get_settings.cache_clear()
    observed = failures[("run_summary", "expect_column_values_to_be_between", "quarantine_rate")]
    assert [c["value"] for c in observed["partial_unexpected_counts"]] == [pytest.approx(2 / 14)]


def cli(tmp_path: Path, staged_uri: str, transform_result: dict) -> tuple[int, dict]:
    transform_uri = (tmp_path / "transform.json").as_uri()
    storage.write_json(transform_uri, transform_result)
    result_uri = (tmp_path / "validate.json").as_uri()
    code = validate.main(
        [
            "--staged-uri", staged_uri,
            "--transform-result-uri", transform_uri,
            "--data-docs-uri", (tmp_path / "docs").as_uri(),
            "--result-uri", result_uri,
        ]
    )  # fmt: skip
    return code, storage.read_json(result_uri)


def test_the_step_exits_0_on_success_and_3_on_a_failed_gate(tmp_path: Path):
    code, written = cli(tmp_path / "good", *stage(tmp_path / "good", GOOD_CLEAN, GOOD_QUARANTINE))
    assert code == EXIT_OK and written["status"] == "succeeded" and written["success"] is True

    bad = [*GOOD_CLEAN, clean_row(1)]
    code, written = cli(tmp_path / "bad", *stage(tmp_path / "bad", bad, GOOD_QUARANTINE))
    assert code == EXIT_QUALITY_GATE
    assert written["status"] == "quality_gate_failed" and written["success"] is False
    assert "clean_reviews.expect_column_values_to_be_unique" in written["error"]
    assert storage.exists(written["data_docs_index_uri"])


def test_staged_data_and_data_docs_on_s3(tmp_path: Path, aws_endpoint):
    s3 = create_bucket(aws_endpoint, "validate-test")
    local_uri, transform_result = stage(tmp_path, GOOD_CLEAN, GOOD_QUARANTINE)
    storage.upload_dir(storage.local_path(local_uri), "s3://validate-test/staged")

    result = validate.run_validation(
        "s3://validate-test/staged", transform_result, "s3://validate-test/docs/run-1", get_settings()
    )

    assert result["success"], result["failed_expectations"]
    assert result["data_docs_index_uri"] == "s3://validate-test/docs/run-1/index.html"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="validate-test", Prefix="docs/run-1/")["Contents"]}
    assert "docs/run-1/index.html" in keys
    assert sum(k.startswith("docs/run-1/validations/") for k in keys) == 3


def test_expectations_that_could_not_be_computed_report_why():
    by_metric = {"MetricConfigurationID(...)": {"raised_exception": True, "exception_message": "no column x"}}
    flat = {"raised_exception": True, "exception_message": "boom", "exception_traceback": "..."}
    assert validate._exception_messages(by_metric) == ["no column x"]
    assert validate._exception_messages(flat) == ["boom"]
    assert validate._exception_messages({"raised_exception": False}) == []
    assert validate._exception_messages(None) == []
