"""A day of summaries scored end to end with the real scorers (grounding model, presidio, toxicity
classifier) against a real index: a healthy day passes, a degraded model's day breaches."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from common import storage, summary_lineage
from common.answer_quality import AnswerQuality
from common.settings import Settings, get_settings
from common.vector_store import open_vector_store
from pipelines.batch.lineage import SCHEMA, PartitionWriter
from pipelines.monitoring import score
from pipelines.monitoring.verdict import daily_uri, judge
from tests.steps.vector_store.conftest import DIM, record

DAY = date(2026, 12, 2)
INDEX = "reviews-v1"
SNIPPETS = [
    ("The battery life is long and easily lasts two days.", 5),
    ("The screen is bright and sharp, even outside.", 5),
    ("The case is flimsy and cracked after a week.", 1),
    ("It stopped charging after a month.", 1),
]
GOOD = {
    "pros": [{"text": "long battery life", "evidence": [1]}, {"text": "bright screen", "evidence": [2]}],
    "cons": [{"text": "flimsy case", "evidence": [3]}, {"text": "stopped charging", "evidence": [4]}],
    "summary": "Buyers like the battery and the screen but not the case or the charging.",
}
# A degraded model: praise nobody wrote, no cons for a context with a one-star review, and a made-up
# contact address.
BAD = {
    "pros": [{"text": "fast shipping", "evidence": [1]}, {"text": "great price", "evidence": [2]}],
    "cons": [],
    "summary": "Write to anna.schmidt@example.com to get a discount on your next order.",
}


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    base = get_settings("local")
    vector_store = base.vector_store.model_copy(
        update={"lancedb": base.vector_store.lancedb.model_copy(update={"uri": str(tmp_path / "vectors")})}
    )
    settings = base.model_copy(
        update={
            "lake_uri": f"file://{tmp_path / 'lake'}",
            "vector_store": vector_store,
            "tracking": base.tracking.model_copy(
                update={
                    "uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                    "artifact_root": str(tmp_path / "mlruns"),
                }
            ),
        }
    )
    store = open_vector_store(settings)
    store.create_index(INDEX, DIM)
    store.upsert(
        INDEX,
        [
            record(f"p{n}-c{i}", product_id=f"p{n}", text=text, stars=stars)
            for n in range(4)
            for i, (text, stars) in enumerate(SNIPPETS, start=1)
        ],
    )
    yield settings


@pytest.fixture(scope="module")
def quality() -> AnswerQuality:
    return AnswerQuality.from_settings(get_settings("local"))


def lineage_record(product: str, answer: dict | None, reasons: list[str], run_key: str) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(
        {
            "lineage_key": f"{run_key}-{product}",
            "run_key": run_key,
            "generated_at": datetime(2026, 12, 2, 5, tzinfo=UTC).isoformat(),
            "product_id": product,
            "language": "en",
            "status": "failed" if reasons else "summarized",
            "reasons": reasons,
            "model_version": "7",
            "index": INDEX,
            "snippet_review_ids": [f"r-{product}-c{i}" for i in (1, 2, 3, 4)],
            "snippet_chunk_ids": [f"{product}-c{i}" for i in (1, 2, 3, 4)],
            "snippet_stars": [stars for _, stars in SNIPPETS],
            "screened_out_chunk_ids": [],
            "answer_json": None if answer is None else json.dumps(answer),
        }
    )
    return {k: row[k] for k in SCHEMA.names}


def write_day(settings: Settings, rows: list[dict[str, Any]], run_key: str = "20261202T0500") -> None:
    with PartitionWriter(summary_lineage.run_uri(settings.lake_uri, run_key)) as writer:
        writer.write(rows)


def test_a_healthy_day_is_scored_and_breaches_nothing(settings, quality) -> None:
    write_day(settings, [lineage_record(f"p{n}", GOOD, [], "20261202T0500") for n in range(3)])
    # Another day's run and a manual run of the day: only the day's runs count.
    write_day(settings, [lineage_record("p3", BAD, [], "20261203T0100")], "20261203T0100")
    write_day(
        settings,
        [lineage_record("p3", GOOD, [], "20261202T0900-manual-ab12cd34")],
        "20261202T0900-manual-ab12cd34",
    )
    records = summary_lineage.read_day(settings.lake_uri, DAY, score.COLUMNS)
    rows, metrics = score.score_day(records, quality, score.index_texts(settings), 50, 0)
    assert metrics["records"] == metrics["sampled"] == metrics["scored"] == 4
    assert metrics["faithfulness"] == 1.0 and metrics["evidence_validity"] == 1.0
    assert metrics["balance"] == 1.0 and metrics["pii_rate"] == 0.0 and metrics["toxicity_rate"] == 0.0
    assert {r["profile"] for r in rows} == {"polarized"}  # two five-star snippets, two one-star ones
    verdict = judge(settings, DAY, metrics)
    assert verdict["critical"] == [] and verdict["warnings"] == []


def test_a_degraded_models_day_breaches_what_it_broke(settings, quality) -> None:
    rows = [lineage_record("p0", GOOD, [], "20261202T0500")]
    rows += [lineage_record(f"p{n}", BAD, ["ungrounded", "pii"], "20261202T0500") for n in (1, 2)]
    rows += [lineage_record("p3", None, ["not_json"], "20261202T0500")]
    write_day(settings, rows)
    result = score.run(settings, DAY, daily_uri(settings.lake_uri, DAY))
    metrics = result["metrics"]
    # The rejected answers are the model's too: the guardrails hid them from shoppers, not from the monitor.
    assert metrics["records"] == 4 and metrics["scored"] == 3 and metrics["format_failures"] == 1
    assert metrics["faithfulness"] == pytest.approx(1 / 3, abs=1e-3)
    assert metrics["pii_rate"] == pytest.approx(2 / 3, abs=1e-3) and metrics["balance"] == pytest.approx(
        1 / 3, abs=1e-3
    )
    assert metrics["format_failure_rate"] == 0.25
    verdict = judge(settings, DAY, metrics)
    assert {b["metric"] for b in verdict["breaches"] if b["severity"] == "critical"} == {
        "faithfulness",
        "pii_rate",
    }
    assert [b["metric"] for b in verdict["breaches"] if b["severity"] == "warning"] == ["format_failure_rate"]
    import pandas as pd

    with storage.open_uri(result["scores_uri"]) as handle:
        scores = pd.read_parquet(handle)
    assert sorted(scores["product_id"]) == ["p0", "p1", "p2"] and scores["cached"].sum() == 1


def test_an_answer_whose_snippets_are_gone_is_counted_not_scored(settings, quality) -> None:
    gone = lineage_record("p0", GOOD, [], "20261202T0500")
    gone["snippet_chunk_ids"] = ["p0-c1", "forgotten", "p0-c3", "p0-c4"]
    write_day(settings, [gone, lineage_record("p1", GOOD, [], "20261202T0500")])
    records = summary_lineage.read_day(settings.lake_uri, DAY, score.COLUMNS)
    _, metrics = score.score_day(records, quality, score.index_texts(settings), 50, 0)
    assert (metrics["sampled"], metrics["scored"], metrics["unscorable"]) == (2, 1, 1)
