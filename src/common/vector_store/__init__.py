"""The vector store: one small interface (`base.VectorStore`), two backends chosen by configuration.

`local` profile: LanceDB, an embedded database in a folder (`lance.py`). `aws` profile: Amazon OpenSearch
through opensearch-py (`opensearch.py`). The backend modules are imported only when opened, so code
that merely names the interface does not need lancedb or opensearch-py installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.vector_store.base import (
    NO_FILTERS,
    ChunkRecord,
    Filters,
    Hit,
    IndexInfo,
    KnnQuery,
    Query,
    TextQuery,
    TopQuery,
    VectorStore,
    VectorStoreError,
    rrf_fuse,
)

if TYPE_CHECKING:
    from common.settings import Settings

__all__ = [
    "NO_FILTERS",
    "ChunkRecord",
    "Filters",
    "Hit",
    "IndexInfo",
    "KnnQuery",
    "Query",
    "TextQuery",
    "TopQuery",
    "VectorStore",
    "VectorStoreError",
    "open_vector_store",
    "rrf_fuse",
]


def open_vector_store(settings: Settings) -> VectorStore:
    """The configured backend (`vector_store.backend`), ready to use."""
    config = settings.vector_store
    if config.backend == "lancedb":
        from common.vector_store.lance import LanceVectorStore

        assert config.lancedb is not None  # checked when the settings were loaded
        return LanceVectorStore(
            settings.resolve_path(config.lancedb.uri),
            optimize_after_rows=config.lancedb.optimize_after_rows,
            write_batch_rows=config.lancedb.write_batch_rows,
        )
    from common.vector_store.opensearch import OpenSearchVectorStore

    assert config.opensearch is not None
    return OpenSearchVectorStore.from_settings(config.opensearch)
