"""The ingestion quality gate: Great Expectations over staged runs the tests write themselves."""

from __future__ import annotations

import json
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
        "review_text": "BUY NOW cheap followers",
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


def failed(result: dict[str, Any]) -> dict[tuple[str, str, str], dict]:
    """Failing expectations by (suite, expectation, column)."""
    return {
        (f["suite"], f["expectation"], f["kwargs"].get("column") or f["kwargs"].get("column_A")): f[
            "observed"
        ]
        for f in result["failed_expectations"]
    }


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


def test_an_empty_window_passes(tmp_path: Path):
    staged_uri, transform_result = stage(tmp_path, [], [])
    assert validate_run(tmp_path, staged_uri, transform_result)["success"]


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
