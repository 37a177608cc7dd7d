"""The ingestion quality gate: a Great Expectations suite over the staged run, before anything is published.

`python -m pipelines.ingestion.validate --staged-uri URI --transform-result-uri URI --data-docs-uri URI
--result-uri URI`

Three batches are validated, each with its own suite, and all three show in the run's Data Docs:

- `staged_files`: one row per staged Parquet file: its exact Arrow schema against the one the lake
  promises (`CLEAN_REVIEW`, `QUARANTINE_REVIEW`), and a well-formed `dt` partition value;
- `clean_reviews`: one row per clean review: ids, rating, language, text length, toxicity, content hash,
  residual PII;
- `run_summary`: one row of counts: the quarantine rate, a minimum of clean rows, input = clean +
  quarantine, the staged files holding exactly the rows the transform reported, and the residual-PII
  audit: reviews with PII left (in all and by entity) and the canaries planted and caught.

Residual PII is looked for by `pii_audit.PiiAuditor`, which shares no recognizer with the redaction
that produced the text: the same recognizers would pass exactly what they missed. The audit is itself
checked on every run: for each row group, known PII values (`pii_audit.CANARIES`, every audited entity
in several languages' written forms) are planted into shadow copies of a sample of its texts, and every
one must be found. A canary missed means the detector is broken, and the run fails like a leak does.
The shadow copies are scanned and dropped: nothing planted reaches the staged data, Data Docs or logs.

Memory: only footers are read for schemas and row counts, and the clean data is read one Parquet row
group at a time, keeping the small columns the suite checks. The text itself is reduced to two derived
columns while its row group is in memory: its length in characters and the PII entity types the audit
finds in it. So memory grows with ids, not with text, and no review text, let alone residual PII, is
copied into Data Docs, the result or the logs: only review ids and entity types.

A failing suite raises `QualityGateFailed` (exit code 3): the DAG stops and nothing is published. Data
Docs are written for every run, pass or fail.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import great_expectations.expectations as gxe
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from great_expectations.expectations.row_conditions import Column

from common import storage
from common.expectations import SuiteBatch, run_suites
from common.expectations import exception_messages as _exception_messages  # noqa: F401 (its name here)
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW
from common.settings import Settings, get_settings
from common.step_entrypoint import QualityGateFailed, run_step, step_parser
from pipelines.ingestion import pii_audit
from pipelines.ingestion.pii_audit import CanaryTally, PiiAuditor

log = logging.getLogger(__name__)

EXPECTED_SCHEMAS: dict[str, pa.Schema] = {"clean": CLEAN_REVIEW, "quarantine": QUARANTINE_REVIEW}
DOCS_SITE = "ingestion"
# The columns of a clean review the row-level suite reads as they are; `cleaned_text` is read too, but
# only to derive the two columns below.
ROW_COLUMNS = ["review_id", "product_id", "star_rating", "language", "toxicity_score", "content_hash"]
TEXT_CHARS = "cleaned_text_chars"
RESIDUAL_PII = "residual_pii"
# Review ids with residual PII listed in the result and the log (the count is always complete).
MAX_LISTED_IDS = 100


@dataclass(frozen=True)
class StagedFile:
    kind: str  # clean | quarantine
    dt: str
    uri: str


def describe_schema(schema: pa.Schema) -> str:
    """`name: type; ...` in field order. List types are written without their item field's name,
    which Parquet writers name differently (`item`, `element`) for the same type."""

    def type_name(data_type: pa.DataType) -> str:
        if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
            prefix = "large_list" if pa.types.is_large_list(data_type) else "list"
            return f"{prefix}<{type_name(data_type.value_type)}>"
        return str(data_type)

    return "; ".join(f"{field.name}: {type_name(field.type)}" for field in schema)


def staged_files(staged_uri: str) -> list[StagedFile]:
    """The Parquet files of a staged run: `<staged>/<kind>/dt=YYYY-MM-DD/*.parquet`."""
    found = []
    for kind in EXPECTED_SCHEMAS:
        root = storage.join(staged_uri, kind)
        for uri in storage.list_files(root):
            if not uri.endswith(".parquet"):
                continue
            partition = uri[len(root) + 1 :].split("/", 1)[0]
            found.append(StagedFile(kind, partition.removeprefix("dt="), uri))
    return found


@contextmanager
def _parquet(uri: str) -> Iterator[pq.ParquetFile]:
    with storage.open_uri(uri, "rb") as handle:
        yield pq.ParquetFile(handle)


# --- the three batches -----------------------------------------------------------------------


def files_frame(files: Sequence[StagedFile]) -> pd.DataFrame:
    """One row per staged file, from its footer only."""
    rows = []
    for staged in files:
        with _parquet(staged.uri) as parquet:
            schema, num_rows = parquet.schema_arrow, parquet.metadata.num_rows
        rows.append(
            {
                "kind": staged.kind,
                "dt": staged.dt,
                "file": staged.uri,
                "schema": describe_schema(schema),
                "expected_schema": describe_schema(EXPECTED_SCHEMAS[staged.kind]),
                "rows": num_rows,
            }
        )
    columns = ["kind", "dt", "file", "schema", "expected_schema", "rows"]
    return pd.DataFrame(rows, columns=columns)


@dataclass
class PiiAudit:
    """The residual-PII audit of one run, filled one row group at a time: what was found (by entity,
    with the ids of the reviews) and the canaries planted and caught."""

    auditor: PiiAuditor
    reviews_with_pii: int = 0
    by_entity: Counter[str] = field(default_factory=Counter)
    review_ids: dict[str, list[str]] = field(default_factory=dict)  # the first MAX_LISTED_IDS
    canaries: CanaryTally = field(default_factory=CanaryTally)
    batches: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PiiAudit:
        pii = settings.ingestion.pii
        not_audited = sorted(set(pii.entities) - set(pii_audit.ENTITIES))
        if not_audited:
            log.info("residual PII: no independent detector for %s", ", ".join(not_audited))
        entities = [e for e in pii.entities if e in pii_audit.ENTITIES]
        return cls(PiiAuditor(entities, pii.phone_regions))

    def residual_column(self, review_ids: list[Any], texts: list[str | None]) -> pa.Array:
        """Per text: the entity types the audit finds, comma-separated, or null when none; then the
        canaries, planted into shadow copies of a sample of these texts."""
        values = []
        for review_id, text in zip(review_ids, texts, strict=True):
            found = self.auditor.find(text)
            if found:
                self.reviews_with_pii += 1
                self.by_entity.update(found)
                if len(self.review_ids) < MAX_LISTED_IDS:
                    self.review_ids[str(review_id)] = found
            values.append(",".join(found) or None)
        # Seeded by the row group: a rerun plants the same canaries into the same texts.
        rng = random.Random(f"canaries:{self.batches}")
        pii_audit.check_canaries(self.auditor, [t for t in texts if t], rng, self.canaries)
        self.batches += 1
        return pa.array(values, pa.string())

    def summary_columns(self) -> dict[str, int]:
        """The run-summary columns of the audit: counts only."""
        columns = {"residual_pii_reviews": self.reviews_with_pii}
        columns |= {f"residual_pii_{e}": self.by_entity[e] for e in self.auditor.entities}
        columns["pii_canaries_planted"] = sum(self.canaries.planted.values())
        columns["pii_canaries_caught"] = sum(self.canaries.caught.values())
        missed = self.canaries.missed()
        columns |= {f"pii_canaries_missed_{e}": missed.get(e, 0) for e in self.auditor.entities}
        return columns

    def to_dict(self) -> dict[str, Any]:
        return {
            "entities": list(self.auditor.entities),
            "reviews_with_pii": self.reviews_with_pii,
            "by_entity": {e: self.by_entity[e] for e in self.auditor.entities},
            "review_ids": self.review_ids,
            "canaries": {
                "planted": dict(self.canaries.planted),
                "caught": {e: self.canaries.caught[e] for e in self.canaries.planted},
            },
        }


def _row_group_checks(table: pa.Table, audit: PiiAudit) -> pa.Table:
    texts = table.column("cleaned_text")
    columns = {name: table.column(name) for name in ROW_COLUMNS}
    columns[TEXT_CHARS] = pc.utf8_length(texts)
    columns[RESIDUAL_PII] = audit.residual_column(table.column("review_id").to_pylist(), texts.to_pylist())
    return pa.table(columns)


def clean_reviews_frame(files: Sequence[StagedFile], audit: PiiAudit) -> pd.DataFrame:
    """The checked columns of every clean review, read one row group at a time.

    Files whose schema is not the expected one are left out: the `staged_files` suite already fails on
    them, and their columns may not even exist.
    """
    expected = describe_schema(CLEAN_REVIEW)
    parts = []
    for staged in files:
        if staged.kind != "clean":
            continue
        with _parquet(staged.uri) as parquet:
            if describe_schema(parquet.schema_arrow) != expected:
                continue
            for group in range(parquet.num_row_groups):
                table = parquet.read_row_group(group, columns=[*ROW_COLUMNS, "cleaned_text"])
                parts.append(_row_group_checks(table, audit))
    if not parts:  # the canaries are still planted (into empty texts): the audit is checked on every run
        empty = CLEAN_REVIEW.empty_table().select([*ROW_COLUMNS, "cleaned_text"])
        parts.append(_row_group_checks(empty, audit))
    return pa.concat_tables(parts).to_pandas()


def run_summary_frame(
    transform_result: dict[str, Any], files: pd.DataFrame, audit: PiiAudit | None = None
) -> pd.DataFrame:
    """The run's counts as one row, so the count-level checks are expectations in Data Docs too."""
    input_count = int(transform_result["input_count"])
    clean_count = int(transform_result["clean_count"])
    quarantine_count = int(transform_result["quarantine_count"])
    return pd.DataFrame(
        [
            {
                "input_count": input_count,
                "clean_count": clean_count,
                "quarantine_count": quarantine_count,
                "accounted_count": clean_count + quarantine_count,
                "quarantine_rate": quarantine_count / input_count if input_count else 0.0,
                "staged_clean_rows": int(files.loc[files["kind"] == "clean", "rows"].sum()),
                "staged_quarantine_rows": int(files.loc[files["kind"] == "quarantine", "rows"].sum()),
                **(audit.summary_columns() if audit is not None else {}),
            }
        ]
    )


# --- the suites -------------------------------------------------------------------------------


def staged_files_expectations() -> list[gxe.Expectation]:
    return [
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="schema",
            column_B="expected_schema",
            notes="Every staged file has exactly the lake's schema: column names, order and Arrow types.",
        ),
        gxe.ExpectColumnValuesToMatchStrftimeFormat(column="dt", strftime_format="%Y-%m-%d"),
        gxe.ExpectColumnValuesToNotBeNull(column="dt"),
    ]


def clean_reviews_expectations(settings: Settings) -> list[gxe.Expectation]:
    ingestion = settings.ingestion
    toxicity_threshold = settings.thresholds.ingestion.toxicity_quarantine
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(column=column)
        for column in [*ROW_COLUMNS, TEXT_CHARS]  # a null text has a null length
    ]
    return [
        *expectations,
        gxe.ExpectColumnValuesToBeUnique(column="review_id"),
        gxe.ExpectColumnValuesToBeBetween(column="star_rating", min_value=1, max_value=5),
        gxe.ExpectColumnValuesToBeInSet(column="language", value_set=list(ingestion.languages)),
        gxe.ExpectColumnValuesToBeBetween(
            column=TEXT_CHARS,
            min_value=1,
            max_value=ingestion.max_clean_chars,
            notes="Length of cleaned_text in characters.",
        ),
        gxe.ExpectColumnValuesToBeBetween(column="toxicity_score", min_value=0, max_value=1),
        gxe.ExpectColumnValuesToBeBetween(
            column="toxicity_score",
            max_value=toxicity_threshold,
            strict_max=True,
            notes="Reviews at or above the quarantine threshold must have been quarantined as `toxic`.",
        ),
        gxe.ExpectColumnValuesToBeNull(
            column=RESIDUAL_PII,
            notes="PII entity types the independent audit (pii_audit: checksums, phone numbering plans, "
            "written-out addresses) still finds in cleaned_text; the text itself is never shown here.",
        ),
    ]


def run_summary_expectations(settings: Settings) -> list[gxe.Expectation]:
    gates = settings.thresholds.ingestion
    return [
        gxe.ExpectColumnValuesToBeBetween(
            column="quarantine_rate", min_value=0, max_value=gates.max_quarantine_rate
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="clean_count",
            min_value=gates.min_clean_rows,
            row_condition=Column("input_count") > 0,
            notes="A window with input must publish at least this many clean reviews.",
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="input_count",
            column_B="accounted_count",
            notes="Nothing lost: every input review is clean or quarantined.",
        ),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="staged_clean_rows", column_B="clean_count"),
        gxe.ExpectColumnPairValuesToBeEqual(column_A="staged_quarantine_rows", column_B="quarantine_count"),
    ]


def pii_audit_expectations(auditor: PiiAuditor) -> list[gxe.Expectation]:
    """Counts on the run summary, shown in Data Docs whether they pass or fail."""
    entities = auditor.entities
    return [
        gxe.ExpectColumnMaxToBeBetween(
            column="residual_pii_reviews",
            min_value=0,
            max_value=0,
            notes="Clean reviews in which the independent audit still finds PII. Their ids and entity "
            "types are in the step's result; their text is never copied anywhere.",
        ),
        *[
            gxe.ExpectColumnMaxToBeBetween(column=f"residual_pii_{e}", min_value=0, max_value=0)
            for e in entities
        ],
        gxe.ExpectColumnMaxToBeBetween(
            column="pii_canaries_planted",
            min_value=len(pii_audit.canaries_for(auditor)),
            notes="Known PII values planted into shadow copies of sampled texts of every row group.",
        ),
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="pii_canaries_caught",
            column_B="pii_canaries_planted",
            notes="A canary the audit misses means the audit is broken: its silence proves nothing.",
        ),
        *[
            gxe.ExpectColumnMaxToBeBetween(column=f"pii_canaries_missed_{e}", min_value=0, max_value=0)
            for e in entities
        ],
    ]


# --- running ----------------------------------------------------------------------------------


def run_validation(
    staged_uri: str, transform_result: dict[str, Any], data_docs_uri: str, settings: Settings
) -> dict[str, Any]:
    """Validate a staged run and publish its Data Docs; the result says whether it may be published."""
    files = staged_files(staged_uri)
    frame_of_files = files_frame(files)
    audit = PiiAudit.from_settings(settings)
    batches = [
        SuiteBatch("staged_files", frame_of_files, staged_files_expectations()),
        SuiteBatch("clean_reviews", clean_reviews_frame(files, audit), clean_reviews_expectations(settings)),
        SuiteBatch(
            "run_summary",
            run_summary_frame(transform_result, frame_of_files, audit),
            [*run_summary_expectations(settings), *pii_audit_expectations(audit.auditor)],
        ),
    ]
    outcome = run_suites(batches, data_docs_uri, DOCS_SITE, "staged_run")
    _log_audit(audit)
    return {
        **outcome.to_dict(),
        "staged_uri": staged_uri,
        "partitions": sorted({f.dt for f in files}),
        "pii_audit": audit.to_dict(),
    }


def _log_audit(audit: PiiAudit) -> None:
    """Counts, ids and entity types: never a word of the text."""
    planted, caught = sum(audit.canaries.planted.values()), sum(audit.canaries.caught.values())
    log.info(
        "residual PII: %d review(s) flagged; canaries caught %d of %d",
        audit.reviews_with_pii,
        caught,
        planted,
    )
    if audit.reviews_with_pii:
        listed = "; ".join(f"{rid}: {','.join(types)}" for rid, types in list(audit.review_ids.items())[:20])
        log.warning("residual PII by entity %s; reviews (first 20): %s", dict(audit.by_entity), listed)
    missed = {entity: n for entity, n in audit.canaries.missed().items() if n}
    if missed:
        log.error("the PII audit missed planted canaries, by entity: %s", missed)


def body(args: argparse.Namespace) -> dict[str, Any]:
    result = run_validation(
        args.staged_uri, storage.read_json(args.transform_result_uri), args.data_docs_uri, get_settings()
    )
    stats = result["statistics"]
    log.info(
        "validation: %d of %d expectations met; Data Docs at %s",
        stats["successful_expectations"],
        stats["evaluated_expectations"],
        result["data_docs_index_uri"],
    )
    if not result["success"]:
        failed = sorted({f"{f['suite']}.{f['expectation']}" for f in result["failed_expectations"]})
        raise QualityGateFailed(
            f"{stats['unsuccessful_expectations']} expectation(s) failed: {', '.join(failed)}", result
        )
    return result


def parser() -> argparse.ArgumentParser:
    p = step_parser("Validate a staged ingestion run with Great Expectations and write its Data Docs.")
    p.add_argument(
        "--staged-uri", required=True, help="the transform's output: <staged>/{clean,quarantine}/dt=*/"
    )
    p.add_argument("--transform-result-uri", required=True, help="the transform's result JSON (counts)")
    p.add_argument("--data-docs-uri", required=True, help="where the Data Docs site is written")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(body, parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
