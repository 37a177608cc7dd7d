"""Every metric of one answer to one golden-set context: the rows the gate and the model card read.

    python -m pipelines.evaluation.scoring --generate-result-uri URI --output-uri URI --result-uri URI

The `score` heavy step: it reads what `generate` wrote (the golden rows and each model's answers) and
writes `<output>/<role>.parquet`, one scored row per golden product, for the candidate and the champion.

A row is one product and one model. What each metric measures, and what it can and cannot see:

- `valid_json`: 1 when the prompt contract accepts the answer (schema, one-sentence summary, citations of
  snippets that were shown), else 0 with `failure_reason` (`common.prompts.FormatFailure`, or the serving
  client's failure class when no answer came back). The other metrics need a valid answer (None without).
- `grounding`, `evidence_validity`, `balance`, `sentiment_gap` (not gated), `toxicity`, `pii`: the
  reference-free scores, by `common.answer_quality` (one implementation with monitoring; what each one
  can and cannot see is written there). A claim may be true and still cite the wrong review: a shopper
  who clicks it sees a review that does not say it, hence evidence validity apart from grounding.
- `coverage`: share of the reference summary's pros and cons that the answer names, a reference claim
  counting as named when an answer claim of the same polarity is as similar as a supporting sentence would
  be (the same scorer, the answer's claims in place of snippets).
- `injection_obeyed`: for a planted twin of a golden context (`pipelines.evaluation.injections`), 1 when
  the answer names the canary the planted review asked for; twins also get `valid_json` and `toxicity`,
  none of the content metrics (their context was altered on purpose).
- `label_precision`, `label_recall`, `label_evidence_validity`: where the golden row carries aspect
  labels (the sample catalogue's), the exact counterparts of the three above (`common.aspect_scores`):
  reported, not gated, because production data has no labels and the gate is the same in both profiles.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from common import storage
from common.answer_quality import QUALITY_COLUMNS, AnswerQuality, ContextAnswer
from common.aspect_scores import score_answer
from common.aspects import Lexicon, Mention
from common.prompts import ReviewSummary
from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from pipelines.evaluation.injections import CANARY_FIELD, obeyed

log = logging.getLogger(__name__)

SLICE_COLUMNS = ("language", "profile", "review_count_bucket")


@dataclass(frozen=True)
class Answer:
    """One model's answer to one golden context, as generation recorded it."""

    example_id: str
    summary: ReviewSummary | None  # None: no valid answer
    failure_reason: str | None = None


def review_count_bucket(count: int | None, edges: Sequence[int]) -> str | None:
    """`count` placed between ascending `edges`: "under 10", "10-49", "50 or more" for edges (10, 50),
    words rather than `<` and `>=`, which MLflow refuses in the metric names the slice becomes part of."""
    if count is None:
        return None
    if count < edges[0]:
        return f"under {edges[0]}"
    for low, high in itertools.pairwise(edges):
        if low <= count < high:
            return f"{low}-{high - 1}"
    return f"{edges[-1]} or more"


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def stars(row: Mapping[str, Any]) -> list[int]:
    return [snippet["star_rating"] for snippet in row["snippets"]]


def reference_claims(target: Mapping[str, Any], key: str) -> list[str]:
    """The texts of a reference's pros or cons (cited items, or plain phrases of version 1)."""
    return [item["text"] if isinstance(item, Mapping) else str(item) for item in target.get(key, [])]


def shown_mentions(row: Mapping[str, Any]) -> list[list[Mention]] | None:
    """The labelled mentions each snippet of a golden row shows, or None for a row without labels. Rows
    keep a mention's aspect and polarity; its sentence is in the snippet's text, so none is needed here."""
    if row.get("aspect_lexicon") is None or any(s.get("aspects") is None for s in row["snippets"]):
        return None
    return [
        [Mention(m["aspect"], m["polarity"], m.get("text", "")) for m in s["aspects"]]
        for s in row["snippets"]
    ]


class AnswerScorer:
    """Scores answers to golden rows: the reference-free scores by `common.answer_quality` (the ones
    monitoring tracks), coverage and the label scores here. The models are loaded once by the caller."""

    def __init__(self, quality: AnswerQuality, review_count_edges: Sequence[int]) -> None:
        self.quality = quality
        self.grounding = quality.grounding
        self.review_count_edges = review_count_edges

    def slices(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "example_id": row["example_id"],
            "product_id": row["product_id"],
            "language": row["language"],
            "profile": row.get("profile"),
            "review_count_bucket": review_count_bucket(row.get("review_count"), self.review_count_edges),
        }

    def score(self, rows: Sequence[Mapping[str, Any]], answers: Sequence[Answer]) -> list[dict[str, Any]]:
        """One scored row per golden row, in order; `answers` are matched by `example_id`."""
        by_id = {answer.example_id: answer for answer in answers}
        missing = [row["example_id"] for row in rows if row["example_id"] not in by_id]
        if missing:
            raise ValueError(f"no answer for {len(missing)} golden rows, e.g. {missing[:3]}")
        scored = [self._one(row, by_id[row["example_id"]]) for row in rows]
        content = [
            (out, ContextAnswer(summary, [s["text"] for s in row["snippets"]], stars(row), row["language"]))
            for row, out in zip(rows, scored, strict=True)
            if (summary := by_id[row["example_id"]].summary) is not None and row.get(CANARY_FIELD) is None
        ]
        for (out, _), quality in zip(content, self.quality.score([c for _, c in content]), strict=True):
            out.update(quality)
        # A planted twin's context was altered on purpose: only its toxicity joins validity and obedience.
        twins = [
            (out, summary, row["language"])
            for row, out in zip(rows, scored, strict=True)
            if (summary := by_id[row["example_id"]].summary) is not None and row.get(CANARY_FIELD) is not None
        ]
        toxic = self.quality.toxicity_of([t[1] for t in twins], [t[2] for t in twins])
        for (out, _, _), toxicity in zip(twins, toxic, strict=True):
            out.update(toxicity)
        return scored

    def _one(self, row: Mapping[str, Any], answer: Answer) -> dict[str, Any]:
        out: dict[str, Any] = {
            **self.slices(row),
            "valid_json": 0.0 if answer.summary is None else 1.0,
            "failure_reason": answer.failure_reason,
            "injection_obeyed": None,
            "coverage": None,
            **dict.fromkeys(QUALITY_COLUMNS),
            **dict.fromkeys(("label_precision", "label_recall", "label_evidence_validity")),
        }
        summary = answer.summary
        canary = row.get(CANARY_FIELD)
        if canary is not None:  # a planted twin: only validity and obedience are measured
            if summary is not None:
                out["injection_obeyed"] = float(obeyed(summary.shopper_text(), canary))
            return out
        if summary is None:
            return out
        out["coverage"] = self._coverage(summary, row["target"])
        out.update(self._labelled(row, summary))
        return out

    def _coverage(self, summary: ReviewSummary, target: Mapping[str, Any]) -> float | None:
        named = total = 0
        for key in ("pros", "cons"):
            reference = reference_claims(target, key)
            total += len(reference)
            answered = summary.phrases(key)  # type: ignore[arg-type]
            if reference and answered:
                named += sum(bool(found) for found in self.grounding.supporting(reference, answered))
        return _share(named, total)

    @staticmethod
    def _labelled(row: Mapping[str, Any], summary: ReviewSummary) -> dict[str, float | None]:
        shown = shown_mentions(row)
        if shown is None:
            return {}
        counts = score_answer(summary, shown, row["target"], Lexicon(row["aspect_lexicon"]))
        return {
            "label_precision": counts.precision,
            "label_recall": counts.recall,
            "label_evidence_validity": counts.evidence_validity,
        }


def scorer_from_settings(settings: Settings) -> AnswerScorer:
    """The scorers of the profile (`AnswerQuality.from_settings`) and the gate's review-count buckets."""
    bars = settings.thresholds.evaluation
    if bars is None:
        raise ValueError("thresholds.yaml has no `evaluation` section: answers cannot be scored")
    return AnswerScorer(AnswerQuality.from_settings(settings), bars.review_count_edges)


def read_answers(uri: str) -> list[Answer]:
    """The answers `generate` wrote: parsed ones back as summaries, failed ones with their reason."""
    import pandas as pd

    with storage.open_uri(uri) as handle:
        frame = pd.read_parquet(handle)
    answers = []
    for row in frame.to_dict("records"):
        text = row.get("answer_json")
        summary = ReviewSummary.model_validate_json(text) if isinstance(text, str) else None
        answers.append(Answer(row["example_id"], summary, None if summary else row["failure_reason"]))
    return answers


def read_golden(uri: str) -> list[dict[str, Any]]:
    with storage.open_uri(uri) as handle:
        return [json.loads(line) for line in handle.read().decode("utf-8").splitlines() if line.strip()]


def run(settings: Settings, generated: Mapping[str, Any], output_uri: str) -> dict[str, Any]:
    """Score every model's answers; the result names the scored files and the overall means."""
    import pandas as pd

    rows = read_golden(storage.join(generated["golden_uri"], "evaluated.jsonl"))
    scorer = scorer_from_settings(settings)
    gated = list(settings.thresholds.evaluation.metrics) if settings.thresholds.evaluation else []
    uris, means = {}, {}
    for role, answers_uri in generated["answers_uris"].items():
        frame = pd.DataFrame(scorer.score(rows, read_answers(answers_uri)))
        uris[role] = storage.join(output_uri, f"{role}.parquet")
        with storage.open_uri(uris[role], "wb") as handle:
            frame.to_parquet(handle, index=False)
        measured = [m for m in gated if m in frame and frame[m].notna().any()]
        means[role] = {m: round(float(frame[m].mean()), 4) for m in measured}
        log.info("scored %d answers of the %s: %s", len(frame), role, means[role])
    return {"rows": len(rows), "scores_uris": uris, "means": means}


def main(argv: Sequence[str] | None = None) -> int:
    parser = step_parser("Every metric of every golden answer of the candidate and the champion.")
    parser.add_argument("--generate-result-uri", required=True, help="the generate step's result (JSON)")
    parser.add_argument("--output-uri", required=True, help="where <role>.parquet go")

    def body(args: Any) -> dict[str, Any]:
        return run(get_settings(), storage.read_json(args.generate_result_uri), args.output_uri)

    return run_step(body, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
