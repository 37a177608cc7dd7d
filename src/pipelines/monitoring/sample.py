"""Which of a day's summaries monitoring scores, and what all of them add up to.

Every lineage record of the day is counted (`tally`): format failures and guardrail rejections are rates
over all responses, never estimated from a sample. The scores need the model's valid answers, which
are stratified by language and by the profile of the context the model was shown (`context_profile`,
from the snippets' stars), and a stratum gives `sample_per_stratum` answers or all it has: a rare
language or a polarized product is never averaged away by the majority. The draw is seeded by the
record keys, so the same day samples the same answers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from common.answer_quality import negative_share
from common.ids import stable_hash

# Why a lineage record failed, by who is to blame (the reasons of common.serving.client and
# pipelines.batch.guard): a format failure is the model's answer breaking the prompt contract.
FORMAT_REASONS = frozenset({"not_json", "not_an_object", "schema", "evidence", "truncated"})
GUARDRAIL_REASONS = frozenset({"ungrounded", "evidence_invalid", "pii", "toxic"})
POSITIVE_MIN_STARS = 4


def context_profile(stars: Sequence[int]) -> str:
    """mostly_positive, mostly_negative, polarized or mixed: the shape of the context's ratings, the
    slices evaluation gates on, read from what the model was shown."""
    if not stars:
        return "mixed"
    negative = negative_share(stars)
    positive = sum(star >= POSITIVE_MIN_STARS for star in stars) / len(stars)
    if positive >= 0.7:
        return "mostly_positive"
    if negative >= 0.7:
        return "mostly_negative"
    if positive >= 0.3 and negative >= 0.3:
        return "polarized"
    return "mixed"


def tally(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Counts over every record of the day: what became of each answer, and the rates monitoring gates."""
    reasons: Counter[str] = Counter()
    format_failures = rejected = serving = 0
    for record in records:
        found = set(record.get("reasons") or [])
        reasons.update(found)
        if found & FORMAT_REASONS:
            format_failures += 1
        elif found & GUARDRAIL_REASONS:
            rejected += 1
        elif found:
            serving += 1
    responses = len(records) - serving
    return {
        "records": len(records),
        "summarized": sum(r.get("status") == "summarized" for r in records),
        "responses": responses,
        "format_failures": format_failures,
        "guardrail_rejections": rejected,
        "serving_failures": serving,
        "reasons": dict(sorted(reasons.items())),
        "format_failure_rate": format_failures / responses if responses else None,
        "guardrail_rejection_rate": rejected / responses if responses else None,
    }


def stratified_sample(
    records: Sequence[Mapping[str, Any]], per_stratum: int, seed: int
) -> list[Mapping[str, Any]]:
    """Up to `per_stratum` records with a valid answer from each (language, context profile)."""
    strata: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("answer_json"):
            stars = list(record.get("snippet_stars") or [])
            strata[(record["language"], context_profile(stars))].append(record)
    sample: list[Mapping[str, Any]] = []
    for key in sorted(strata):
        ranked = sorted(strata[key], key=lambda r: stable_hash(str(seed), r["lineage_key"], length=16))
        sample += ranked[:per_stratum]
    return sample
