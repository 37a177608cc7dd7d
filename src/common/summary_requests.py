"""Summaries asked for from outside the hourly batch's own selection: an inbox the batch reads.

Forgetting a review (`review_forget`) deletes every cached summary that cites it; those products are owed a
new summary that no longer stands on the review. The forget DAG cannot reach into the batch's queue (the
pipelines are independent), so it leaves a request here, `<lake>/batch/requests/<id>.json`, and the next
batch run moves every request into its queue (in the same state write) and then removes it. A request
written twice under one id is one request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from common import storage

if TYPE_CHECKING:
    from common.settings import Settings


def requests_root(lake_uri: str) -> str:
    return storage.join(lake_uri, "batch", "requests")


def request_summaries(
    lake_uri: str, keys: Iterable[tuple[str, str]], request_id: str, reason: str
) -> str | None:
    """Ask for new summaries of (product, language) `keys`; returns the request's URI (None: no keys)."""
    pairs = sorted(set(keys))
    if not pairs:
        return None
    if not request_id or "/" in request_id:
        raise ValueError(f"a request id is a non-empty name without '/': {request_id!r}")
    uri = storage.join(requests_root(lake_uri), f"{request_id}.json")
    storage.replace_json(uri, {"reason": reason, "keys": [list(pair) for pair in pairs]})
    return uri


def pending_requests(lake_uri: str) -> list[tuple[str, dict[str, Any]]]:
    """Every request not yet taken: (URI, its content), oldest name first."""
    return [
        (uri, storage.read_json(uri))
        for uri in storage.list_files(requests_root(lake_uri))
        if uri.endswith(".json") and not uri.rsplit("/", 1)[-1].startswith(".")
    ]


def invalidate_summaries(settings: Settings, review_ids: Iterable[str], request_id: str) -> dict[str, Any]:
    """Delete every cached summary citing one of `review_ids` and ask the batch for new ones: what
    forgetting a review does to the summary cache. Idempotent: a second call finds nothing to delete
    and rewrites the same request."""
    from common.summary_cache import open_summary_cache

    cache = open_summary_cache(settings)
    try:
        keys = cache.invalidate_reviews(review_ids)
    finally:
        cache.close()
    uri = request_summaries(settings.lake_uri, keys, request_id, "cited a forgotten review")
    return {"invalidated": len(keys), "request_uri": uri}
