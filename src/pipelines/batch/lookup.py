"""What the storefront reads: a product's cached summaries, each pro and con with the reviews behind it.

    python -m pipelines.batch.lookup PRODUCT_ID [--language de] [--no-lineage] [--texts]

`lookup` is the function behind it: the unexpired summaries of the product (one per review language, or
the one asked for) from the summary cache (`common.summary_cache`; expiry is checked here, as DynamoDB
returns expired items until it deletes them), each claim with the review ids its cited snippets came from,
the model and prompt that wrote it and, unless told otherwise, its lineage record. With `texts`, each
cited review's snippet is read back from the index the summary was made from (what a shopper sees
when they click a claim). An unknown product is an empty list, not an error: the storefront shows no
summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from common import summary_lineage
from common.settings import Settings, get_settings
from common.summary_cache import CachedSummary, open_summary_cache


def _claims(cached: CachedSummary) -> dict[str, list[dict[str, Any]]]:
    answer, reviews = cached.body["answer"], cached.body["evidence_reviews"]
    return {
        key: [
            {"text": claim["text"], "evidence": claim.get("evidence", []), "review_ids": ids}
            for claim, ids in zip(answer[key], reviews[key], strict=True)
        ]
        for key in ("pros", "cons")
    }


def _with_texts(settings: Settings, view: dict[str, Any], record: dict[str, Any]) -> None:
    """Each claim's cited snippets, read back from the index the lineage names."""
    from common.vector_store import open_vector_store

    chunk_of = dict(zip(record["snippet_review_ids"], record["snippet_chunk_ids"], strict=True))
    hits = {
        hit.review_id: hit
        for hit in open_vector_store(settings).get(record["index"], list(record["snippet_chunk_ids"]))
    }
    for key in ("pros", "cons"):
        for claim in view[key]:
            claim["reviews"] = [
                {
                    "review_id": r,
                    "chunk_id": chunk_of.get(r),
                    "star_rating": hits[r].star_rating,
                    "text": hits[r].text,
                }
                if r in hits
                else {
                    "review_id": r,
                    "chunk_id": chunk_of.get(r),
                    "missing": "no longer in the index (forgotten?)",
                }
                for r in claim["review_ids"]
            ]


def lookup(
    settings: Settings,
    product_id: str,
    language: str | None = None,
    *,
    now: datetime | None = None,
    with_lineage: bool = True,
    texts: bool = False,
) -> list[dict[str, Any]]:
    """The product's unexpired cached summaries as the storefront shows them (see module docstring)."""
    cache = open_summary_cache(settings)
    try:
        if language is None:
            found = cache.get_product(product_id, now)
        else:
            one = cache.get(product_id, language, now)
            found = [] if one is None else [one]
    finally:
        cache.close()
    views = []
    for cached in found:
        view: dict[str, Any] = {
            "product_id": cached.product_id,
            "language": cached.language,
            "summary": cached.body["answer"]["summary"],
            **_claims(cached),
            "model": cached.body["model"],
            "prompt": cached.body["prompt"],
            "generated_at": cached.generated_at.isoformat(),
            "expires_at": cached.expires_at.isoformat(),
            "lineage_key": cached.lineage_key,
        }
        record = None
        if (with_lineage or texts) and cached.body.get("lineage_uri"):
            record = next(
                (
                    r
                    for r in summary_lineage.read(cached.body["lineage_uri"])
                    if r["lineage_key"] == cached.lineage_key
                ),
                None,
            )
        if with_lineage:
            view["lineage"] = record
        if texts and record is not None:
            _with_texts(settings, view, record)
        views.append(view)
    return views


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("product_id")
    parser.add_argument("--language", help="one review language (default: every language summarized)")
    parser.add_argument("--no-lineage", action="store_true", help="leave out the lineage record")
    parser.add_argument("--texts", action="store_true", help="each cited review's snippet, from the index")
    args = parser.parse_args(argv)
    views = lookup(
        get_settings(), args.product_id, args.language, with_lineage=not args.no_lineage, texts=args.texts
    )
    print(json.dumps(views, indent=2, ensure_ascii=False, default=str))
    return 0 if views else 1


if __name__ == "__main__":
    sys.exit(main())
