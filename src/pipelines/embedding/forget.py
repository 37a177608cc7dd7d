"""The `forget` heavy step: remove the reviews a tombstone names from every index of the alias.

    python -m pipelines.embedding.forget --tombstone-uri URI --result-uri URI

Every index, not only the live one: an older index kept for rollback must not bring a deleted review
back when the alias returns to it. Deleting is idempotent, so a retried or repeated request is harmless.
The tombstone itself (written first, by the DAG) keeps the embedding step from indexing them again.
"""

from __future__ import annotations

import logging
from typing import Any

from common.settings import Settings, get_settings
from common.step_entrypoint import run_step, step_parser
from common.tombstones import read_tombstone
from common.vector_store import Filters, VectorStore, open_vector_store

log = logging.getLogger(__name__)


def forget_reviews(settings: Settings, store: VectorStore, review_ids: list[str]) -> dict[str, Any]:
    alias = settings.vector_store.alias
    deleted: dict[str, int] = {}
    remaining = 0
    for info in store.list_indices(prefix=f"{alias}-"):
        deleted[info.name] = store.delete_reviews(info.name, review_ids)
        remaining += store.count(info.name, Filters(review_ids=review_ids))
    if remaining:
        raise RuntimeError(f"{remaining} chunk(s) of forgotten reviews are still indexed after deletion")
    per_index = ", ".join(f"{name}: {count}" for name, count in sorted(deleted.items())) or "no index"
    log.info(
        "forgot %d review(s): deleted %d chunk(s) from %d index(es) of alias %s (%s); 0 remain indexed",
        len(review_ids),
        sum(deleted.values()),
        len(deleted),
        alias,
        per_index,
    )
    return {"review_ids": len(review_ids), "chunks_deleted": deleted, "indices": sorted(deleted)}


def main(argv: list[str] | None = None) -> int:
    parser = step_parser("Delete forgotten reviews from every index of the vector store.")
    parser.add_argument("--tombstone-uri", required=True, help="the request's tombstone file")

    def body(args: Any) -> dict[str, Any]:
        settings = get_settings()
        return forget_reviews(settings, open_vector_store(settings), read_tombstone(args.tombstone_uri))

    return run_step(body, parser, argv)


if __name__ == "__main__":
    raise SystemExit(main())
