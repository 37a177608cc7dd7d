"""Score one day of summaries: the `score` heavy step of `summary_quality_monitoring`.

    python -m pipelines.monitoring.score --day 2026-12-02 --output-uri URI --result-uri URI

Reads the day's lineage records (`common.summary_lineage`), counts all of them (`sample.tally`), takes
the stratified sample of valid answers (`sample.stratified_sample`: the answers the model generated,
cached or rejected by the guardrails, because monitoring watches the model and the guardrails only hide
what it does), reads each answer's snippets back from the index its record names, and scores them with
`common.answer_quality`, the scorers evaluation gates with. An answer whose snippets are gone from the
index (a forgotten review, a dropped index) cannot be scored and is counted as such.

Writes `<output>/scores.parquet` (one row per sampled answer: its record's key, slices and scores), judges
the day's metrics (overall, per language, per model version; `verdict`), logs the day's MLflow run and
returns the verdict.
"""

from __future__ import annotations

import logging
import sys
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from common import storage, summary_lineage
from common.answer_quality import AnswerQuality, ContextAnswer
from common.prompts import ReviewSummary
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from pipelines.monitoring.publish import to_mlflow
from pipelines.monitoring.sample import context_profile, stratified_sample, tally
from pipelines.monitoring.verdict import judge

log = logging.getLogger(__name__)

SCORES_FILE = "scores.parquet"
COLUMNS = [
    "lineage_key",
    "run_key",
    "product_id",
    "language",
    "status",
    "reasons",
    "model_version",
    "index",
    "snippet_chunk_ids",
    "snippet_stars",
    "answer_json",
    "raw_text",
]
# The day's metrics from the sampled answers' scores: (metric, the score column it is the mean of).
SAMPLED_METRICS = (
    ("faithfulness", "grounding"),
    ("evidence_validity", "evidence_validity"),
    ("balance", "balance"),
    ("toxicity_rate", "toxicity"),
    ("pii_rate", "pii"),
)

TextsOf = Callable[[str, Sequence[str]], dict[str, str]]


def index_texts(settings: Settings) -> TextsOf:
    """(index, chunk ids) -> {chunk id: text} from the profile's vector store."""
    from common.vector_store import open_vector_store

    store = open_vector_store(settings)

    def texts(index: str, chunk_ids: Sequence[str]) -> dict[str, str]:
        if not store.index_exists(index):
            return {}
        return {hit.chunk_id: hit.text for hit in store.get(index, chunk_ids)}

    return texts


def contexts(sample: Sequence[Mapping[str, Any]], texts_of: TextsOf) -> list[list[str] | None]:
    """Each sampled answer's snippets in prompt order, or None when any of them is gone."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for record in sample:
        wanted[record["index"]].update(record["snippet_chunk_ids"] or [])
    found = {index: texts_of(index, sorted(ids)) for index, ids in wanted.items()}
    out: list[list[str] | None] = []
    for record in sample:
        by_id = found[record["index"]]
        ids = record["snippet_chunk_ids"] or []
        out.append([by_id[i] for i in ids] if ids and all(i in by_id for i in ids) else None)
    return out


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def metrics_of(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The sampled metrics of scored rows (None where no row has the score)."""
    return {
        "scored": len(rows),
        **{metric: _mean([row.get(column) for row in rows]) for metric, column in SAMPLED_METRICS},
    }


def _scores(quality: AnswerQuality | None, answers: Sequence[ContextAnswer]) -> list[dict[str, Any]]:
    if not answers:
        return []
    if quality is None:
        raise ValueError("valid answers to score and no scorers")
    return quality.score(answers)


def score_day(
    records: Sequence[Mapping[str, Any]],
    quality: AnswerQuality | None,
    texts_of: TextsOf,
    per_stratum: int,
    seed: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The scored rows of the day's sample and the day's metrics (all records counted)."""
    sample = stratified_sample(records, per_stratum, seed)
    snippets = contexts(sample, texts_of)
    scorable = [(r, s) for r, s in zip(sample, snippets, strict=True) if s is not None]
    answers = [
        ContextAnswer(
            ReviewSummary.model_validate_json(record["answer_json"]),
            texts,
            list(record["snippet_stars"] or []),
            record["language"],
        )
        for record, texts in scorable
    ]
    rows = [
        {
            "lineage_key": record["lineage_key"],
            "run_key": record["run_key"],
            "product_id": record["product_id"],
            "language": record["language"],
            "profile": context_profile(list(record["snippet_stars"] or [])),
            "model_version": record["model_version"],
            "cached": record["status"] == "summarized",
            **scores,
        }
        for (record, _), scores in zip(scorable, _scores(quality, answers), strict=True)
    ]
    counts = tally(records)
    day_metrics: dict[str, Any] = {
        **counts,
        "sampled": len(sample),
        "unscorable": len(sample) - len(scorable),
        **metrics_of(rows),
        "by_language": {},
        "by_model_version": {},
    }
    for key, slice_name in (("language", "by_language"), ("model_version", "by_model_version")):
        for value in sorted({str(r[key]) for r in records}):
            part = [r for r in records if str(r[key]) == value]
            scored = [row for row in rows if str(row[key]) == value]
            day_metrics[slice_name][value] = {
                "records": len(part),
                "format_failure_rate": tally(part)["format_failure_rate"],
                **metrics_of(scored),
            }
    return rows, day_metrics


def run(settings: Settings, day: date, output_uri: str) -> dict[str, Any]:
    import pandas as pd

    records = summary_lineage.read_day(settings.lake_uri, day, COLUMNS)
    # The scorers' models take a while to load: not for a day without a single valid answer.
    answered = any(record.get("answer_json") for record in records)
    quality = AnswerQuality.from_settings(settings) if answered else None
    rows, day_metrics = score_day(
        records,
        quality,
        index_texts(settings),
        settings.monitoring.sample_per_stratum,
        settings.monitoring.seed,
    )
    scores_uri = storage.join(output_uri, SCORES_FILE)
    with storage.open_uri(scores_uri, "wb") as handle:
        pd.DataFrame(rows).to_parquet(handle, index=False)
    verdict = judge(settings, day, day_metrics)
    run_id = to_mlflow(settings, verdict, scores_uri)
    log.info(
        "monitoring %s: %d records (%d format failures, %d rejected), %d sampled, %d scored: "
        "faithfulness %s, toxicity %s, pii %s; critical: %s; warnings: %s",
        day,
        day_metrics["records"],
        day_metrics["format_failures"],
        day_metrics["guardrail_rejections"],
        day_metrics["sampled"],
        day_metrics["scored"],
        day_metrics["faithfulness"],
        day_metrics["toxicity_rate"],
        day_metrics["pii_rate"],
        "; ".join(verdict["critical"]) or "none",
        "; ".join(verdict["warnings"]) or "none",
    )
    return {**verdict, "scores_uri": scores_uri, "mlflow_run_id": run_id}


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("Score and judge one day of summaries: all counted, a stratified sample scored.")
    parser.add_argument("--day", required=True, type=date.fromisoformat, help="the day (UTC), YYYY-MM-DD")
    parser.add_argument("--output-uri", required=True, help="where scores.parquet goes")

    def body(args: Any) -> dict[str, Any]:
        return run(get_settings(), args.day, args.output_uri)

    return run_step(body, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
