"""The local retrieval evaluation set, from the generator's own labels: what the embedding gate reads.

Every sample review is labelled with the aspects it mentions and how (`aspects: [{aspect, polarity}]`).
Each aspect and polarity gives one query, the aspect's canonical pro or con phrase (`ASPECT_PHRASES`:
"short battery life", "breaks quickly"), which no review contains as a sentence: reviews are written
from other sentences and frames, so a query finds its reviews by meaning, not by shared words. Relevant
are the reviews mentioning the aspect with that polarity (grade 2) or with the other one (grade 1: on
topic, opposite verdict). The phrases are English, as is the local embedding model, so the queries ask
English reviews. The file has the evaluation-set format of `pipelines.embedding.retrieval_eval`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sample_source.vocab import ASPECT_PHRASES

LANGUAGE = "en"


def aspect_queries(labels: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One query per aspect and polarity that some English review mentions, with graded relevance."""
    mentions: dict[str, dict[str, str]] = {}  # aspect -> review id -> polarity
    for label in labels:
        if label.get("language") != LANGUAGE or not label.get("review_id"):
            continue
        for mention in label.get("aspects") or []:
            mentions.setdefault(mention["aspect"], {})[label["review_id"]] = mention["polarity"]
    queries = []
    for aspect, (_, pro, con) in ASPECT_PHRASES.items():
        reviews = mentions.get(aspect, {})
        for polarity, phrase in (("positive", pro), ("negative", con)):
            if polarity in reviews.values():
                grades = {r: 2 if p == polarity else 1 for r, p in sorted(reviews.items())}
                queries.append({"query": phrase, "language": LANGUAGE, "relevant": grades})
    return queries
