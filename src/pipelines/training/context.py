"""Examples' inputs: each product's balanced context in a language (the most helpful positive and
negative snippets and the most recent ones, `common.retrieval`).

Contexts come from the live index behind the `reviews` alias, or, with a pinned clean version, from an
index built in the step's scratch folder from exactly that DVC version of the clean data, so a dataset
can be rebuilt from pinned inputs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.data_versioning import DataRegistry
from common.retrieval import ProductContext, Retriever
from common.settings import Settings
from common.tombstones import forgotten_review_ids
from pipelines.training.publishing import fetch_version
from pipelines.training.references import Reference

if TYPE_CHECKING:
    from common.vector_store import VectorStore

log = logging.getLogger(__name__)

# The index a pinned clean version is embedded into, inside the step's scratch folder.
PINNED_INDEX = "sft-context"


@dataclass
class ContextSource:
    """Where contexts are retrieved from, and how the dataset card describes it."""

    retriever: Retriever
    description: dict[str, Any]  # versioned with the data: what the contexts depend on, nothing run-bound
    index: str  # the concrete index (the result names it; the card does not)


def open_context_source(
    settings: Settings, clean_version: str | None, product_ids: Iterable[str], work_dir: Path
) -> ContextSource:
    """The live index behind the alias, or an index of the pinned clean data (only `product_ids`)."""
    if clean_version is None:
        retriever = Retriever.from_settings(settings)
        alias = settings.vector_store.alias
        index = retriever.store.resolve_alias(alias) or alias
        return ContextSource(retriever, {"kind": "index", "alias": alias}, index)
    store = index_clean_version(settings, clean_version, set(product_ids), work_dir)
    retriever = Retriever(store, settings.retrieval, PINNED_INDEX)
    return ContextSource(retriever, {"kind": "clean_version", "clean_version": clean_version}, PINNED_INDEX)


def index_clean_version(
    settings: Settings, clean_version: str, product_ids: set[str], work_dir: Path
) -> VectorStore:
    """Chunk and embed the reviews of `product_ids` in one DVC version of the clean data into a LanceDB
    index in `work_dir`, with the chunker, model and writer the embedding step uses: the same chunks
    (and chunk ids) the live index holds for that data. Forgotten reviews are left out."""
    from common.chunking import Chunker
    from common.embedders import open_embedder
    from common.embedding_writer import REGISTRY_CLEAN_PATH, EmbeddingWriter, iter_reviews
    from common.vector_store.lance import LanceVectorStore

    registry = DataRegistry.from_settings(settings)
    local = fetch_version(registry, REGISTRY_CLEAN_PATH, clean_version, work_dir / "clean")
    partitions = sorted(str(p) for p in local.iterdir() if p.name.startswith("dt="))
    embedder = open_embedder(settings)
    overlap = settings.embedding.overlap_tokens
    chunker = Chunker.for_model(embedder.tokenizer_file, embedder.max_tokens, overlap, embedder.version)
    store = LanceVectorStore(work_dir / "vector_store")
    store.create_index(PINNED_INDEX, embedder.dimension)
    writer = EmbeddingWriter(embedder, chunker, store, PINNED_INDEX)
    forgotten = forgotten_review_ids(settings.lake_uri)
    for reviews in iter_reviews(partitions, settings.embedding.read_batch_rows):
        writer.write([r for r in reviews if r["product_id"] in product_ids], forgotten, replace=False)
    log.info("indexed clean version %s for %d product(s): %s", clean_version, len(product_ids), writer.counts)
    return store


def iter_contexts(
    retriever: Retriever, references: Sequence[Reference], languages: Sequence[str], batch_products: int
) -> Iterator[tuple[Reference, str, ProductContext]]:
    """Each reference's balanced context in each of its languages (its own, or every configured one)
    that has at least one snippet, reference by reference; many products per retrieval call."""
    for start in range(0, len(references), batch_products):
        batch = references[start : start + batch_products]
        contexts: dict[str, dict[str, ProductContext]] = {}
        for language in languages:
            ids = [r.product_id for r in batch if r.language in (None, language)]
            if ids:
                contexts[language] = retriever.balanced(ids, language)
        for reference in batch:
            for language in languages:
                context = contexts.get(language, {}).get(reference.product_id)
                if context is not None and context.snippets:
                    yield reference, language, context
