"""The embedding gate's evaluation set: labelled queries, and the graded-relevance metrics they give.

A set is JSONL, one query per line:

    {"query": "short battery life", "language": "en", "relevant": ["R1A2", "R9F0"]}
    {"query": "Akku hält nicht lange", "language": "de", "relevant": {"R77C": 2, "R0B1": 1}}

`relevant` lists review ids (grade 1 each) or grades them (higher is more relevant; 0 is not relevant).
`language` (optional) restricts the search to reviews in that language, as retrieval does. Queries
describe what reviews say in other words than theirs: a query copied from a review finds that review
by its words alone, and cannot tell a model that understands text from one that counts words.

Where a set comes from (`embedding.evaluation`):
- `file`: a JSONL file at a URI;
- `dvc`: a JSONL file in the DVC data registry at a pinned version (`aws`: a curated set, every language);
  The `local` profile's set is a `file` the sample generator writes beside its review labels
  (`sample_source.retrieval_queries`): aspect phrases ("short battery life") graded against the reviews
  labelled with that aspect.

Metrics, per query over its top k distinct reviews, averaged over the queries:
- nDCG@k: gain 2^grade - 1 discounted by log2(rank + 1), over the ideal order of the judged reviews;
- recall@k: the share of the query's most relevant reviews (its highest grade) in the top k, out of at
  most k (a query with 40 relevant reviews cannot show more than k);
- MRR: the reciprocal rank of the first of those most relevant reviews, 0 beyond k.
"""

from __future__ import annotations

import hashlib
import json
import math
import posixpath
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import storage
from common.settings import RetrievalEvalSettings, Settings


@dataclass(frozen=True)
class EvalQuery:
    text: str
    language: str | None
    grades: Mapping[str, int]  # review id -> grade (> 0)

    def judged_on(self, present: Collection[str]) -> EvalQuery | None:
        """The query with only the judgements about reviews the index holds (None if none is left): an
        index is scored on what it could return, not on reviews it never received or had to forget."""
        kept = {review_id: grade for review_id, grade in self.grades.items() if review_id in present}
        return EvalQuery(self.text, self.language, kept) if kept else None

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.text, "language": self.language, "relevant": dict(sorted(self.grades.items()))}


def parse_eval_set(lines: Iterable[str], where: str) -> list[EvalQuery]:
    """Queries from JSONL lines; a malformed line is an error naming it (a gate on a half-read set
    would pass or fail for the wrong reason)."""
    queries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, relevant = str(row["query"]).strip(), row["relevant"]
            grades = (
                {str(r): int(g) for r, g in relevant.items()}
                if isinstance(relevant, dict)
                else {str(r): 1 for r in relevant}
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}:{number}: not an evaluation query ({exc})") from exc
        grades = {review_id: grade for review_id, grade in grades.items() if grade > 0}
        if not text or not grades:
            raise ValueError(f"{where}:{number}: a query needs text and at least one relevant review")
        queries.append(EvalQuery(text, row.get("language") or None, grades))
    return queries


def load_eval_set(config: RetrievalEvalSettings, settings: Settings, work_dir: Path) -> list[EvalQuery]:
    """The configured set; a missing one is an error, never an empty set that passes nothing silently."""
    if config.source == "dvc":
        from common.data_versioning import DEFAULT_BRANCH, DataRegistry

        folder, name = posixpath.split(config.uri)
        registry = DataRegistry.from_settings(settings)
        fetched = registry.fetch(folder, config.version or DEFAULT_BRANCH, work_dir / "retrieval-eval")
        path = str(fetched / name)
    else:
        path = config.uri
    if not storage.exists(path):
        raise FileNotFoundError(f"retrieval evaluation set not found: {path} (embedding.evaluation)")
    with storage.open_uri(path, "r") as handle:
        lines = handle.read().splitlines()
    return parse_eval_set(lines, config.uri)


def fingerprint(queries: Sequence[EvalQuery]) -> str:
    """The set's content hash, logged with the metrics: two runs compare only on the same set."""
    text = "\n".join(json.dumps(q.to_dict(), sort_keys=True, ensure_ascii=False) for q in queries)
    return hashlib.sha256(text.encode()).hexdigest()


def _dcg(gains: Iterable[int]) -> float:
    return sum((2**grade - 1) / math.log2(rank + 1) for rank, grade in enumerate(gains, start=1))


def score(queries: Sequence[EvalQuery], ranked: Sequence[Sequence[str]], k: int) -> dict[str, float]:
    """nDCG@k, recall@k and MRR (see the module docstring); `ranked` holds each query's review ids, best
    first, one entry per review."""
    ndcg = recall = reciprocal = 0.0
    for query, answer in zip(queries, ranked, strict=True):
        top = list(answer[:k])
        gains = [query.grades.get(review_id, 0) for review_id in top]
        ideal = _dcg(sorted(query.grades.values(), reverse=True)[:k])
        ndcg += _dcg(gains) / ideal
        best = max(query.grades.values())
        most_relevant = [review_id for review_id, grade in query.grades.items() if grade == best]
        found = [rank for rank, review_id in enumerate(top, start=1) if query.grades.get(review_id) == best]
        recall += len(found) / min(k, len(most_relevant))
        reciprocal += 1.0 / found[0] if found else 0.0
    n = max(len(queries), 1)
    return {"ndcg_at_k": ndcg / n, "recall_at_k": recall / n, "mrr": reciprocal / n}
