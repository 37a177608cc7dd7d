"""The local backend (LanceDB): the store contract, persistence across processes, SQL quoting."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest

from common.vector_store import Filters, TopQuery, VectorStoreError
from common.vector_store.lance import ALIAS_FILE, LanceVectorStore, where_clause

from .conftest import DIM, record
from .contract import check_store_contract


def test_lancedb_backend_meets_the_store_contract(tmp_path):
    check_store_contract(LanceVectorStore(tmp_path / "store", optimize_after_rows=10), "reviews-test")


def test_filters_become_quoted_sql():
    clause = where_clause(
        Filters(
            product_ids=["a'b", "c"],
            languages="de",
            min_stars=4,
            created_to=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        )
    )
    assert clause == (
        "product_id IN ('a''b', 'c') AND language IN ('de') AND star_rating >= 4 "
        "AND created_at < TIMESTAMP '2026-03-01 12:30:00.000000+00:00'"
    )
    assert where_clause(Filters()) is None
    with pytest.raises(ValueError, match="timezone-aware"):
        Filters(created_from=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="empty"):
        Filters(product_ids=[])


def test_names_and_alias_collisions_are_refused(tmp_path):
    store = LanceVectorStore(tmp_path)
    with pytest.raises(ValueError, match="invalid index name"):
        store.create_index("../escape", DIM)
    with pytest.raises(ValueError, match="invalid index name"):
        store.create_index("Reviews", DIM)
    store.create_index("idx-a", DIM)
    with pytest.raises(VectorStoreError, match="missing index"):
        store.swap_alias("live", "idx-b")
    with pytest.raises(VectorStoreError, match="is an index"):
        store.swap_alias("idx-a", "idx-a")
    store.swap_alias("live", "idx-a")
    with pytest.raises(VectorStoreError, match="is an alias"):
        store.create_index("live", DIM)
    with pytest.raises(VectorStoreError, match="no index or alias"):
        store.count("nothing-here")
    # The alias file was replaced atomically: no temp file is left beside it.
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [ALIAS_FILE]


def test_writes_are_folded_into_the_indexes_after_the_configured_rows(tmp_path):
    store = LanceVectorStore(tmp_path, optimize_after_rows=5)
    store.create_index("idx", DIM)
    store.upsert("idx", [record(f"c{i}") for i in range(3)])
    table = store._open("idx")
    assert table.index_stats("product_id_idx").num_unindexed_rows == 3
    store.upsert("idx", [record(f"c{i}") for i in range(3, 6)])
    assert table.index_stats("product_id_idx").num_unindexed_rows == 0
    assert table.index_stats("text_idx").num_unindexed_rows == 0
    assert store.count("idx", Filters(product_ids="p1")) == 6


_WRITER = textwrap.dedent(
    """
    import sys
    from common.vector_store.lance import LanceVectorStore
    from tests.steps.vector_store.conftest import DIM, record

    store = LanceVectorStore(sys.argv[1])
    store.create_index("idx-v1", DIM)
    store.upsert("idx-v1", [record(f"c{i}", product_id=f"p{i % 2}", helpful=i, text=f"word{i} review")
                            for i in range(10)])
    store.delete_reviews("idx-v1", ["r-c3"])
    store.swap_alias("live", "idx-v1")
    """
)


def test_what_one_process_writes_another_reads(tmp_path):
    root = tmp_path / "store"
    done = subprocess.run([sys.executable, "-c", _WRITER, str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    store = LanceVectorStore(root)
    assert store.resolve_alias("live") == "idx-v1"
    assert store.count("live") == 9
    top = store.top_by("live", TopQuery(Filters(product_ids="p1"), (("helpful_votes", "desc"),), 2))
    assert [h.chunk_id for h in top] == ["c9", "c7"]
    assert [h.chunk_id for h in store.text_search("live", "word5", 1)] == ["c5"]
    assert store.get("live", ["c3"]) == []
    assert json.loads((root / ALIAS_FILE).read_text()) == {"live": "idx-v1"}
