"""What the forget step's log says: the chunks it deleted, index by index, and that none remain."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from common.settings import get_settings
from common.vector_store import IndexInfo
from pipelines.embedding.forget import forget_reviews


class _Store:
    """Two versions of the alias's index holding chunks of the forgotten reviews, and one index of
    another alias that must not be touched."""

    def __init__(self) -> None:
        self.chunks = {"reviews-v1": {"r1": 2, "r2": 1}, "reviews-v2": {"r1": 3}, "other-v1": {"r1": 1}}

    def list_indices(self, prefix: str = "") -> list[IndexInfo]:
        now = datetime.now(UTC)
        return [IndexInfo(name, now, 4) for name in self.chunks if name.startswith(prefix)]

    def delete_reviews(self, index: str, review_ids: list[str]) -> int:
        return sum(self.chunks[index].pop(review_id, 0) for review_id in review_ids)

    def count(self, index: str, filters: Any) -> int:
        return sum(n for review_id, n in self.chunks[index].items() if review_id in filters.review_ids)


def test_forget_logs_what_it_deleted_where_and_that_none_remain(caplog):
    settings = get_settings()
    store = _Store()
    with caplog.at_level(logging.INFO, logger="pipelines.embedding.forget"):
        result = forget_reviews(settings, store, ["r1", "r2"])  # type: ignore[arg-type]
    assert result["chunks_deleted"] == {"reviews-v1": 3, "reviews-v2": 3}
    assert store.chunks["other-v1"] == {"r1": 1}
    (line,) = [r.getMessage() for r in caplog.records if r.name == "pipelines.embedding.forget"]
    assert line == (
        "forgot 2 review(s): deleted 6 chunk(s) from 2 index(es) of alias reviews "
        "(reviews-v1: 3, reviews-v2: 3); 0 remain indexed"
    )
