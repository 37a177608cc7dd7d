"""The Airflow Assets that hand data from one DAG to the next, defined once for producer and consumers.

An Asset's URI is where its data lives in the profile's lake, so the same name points at a local folder
in `local` and at the lake bucket in `aws`. The event that a producer emits carries, in `extra`, the exact
partitions and data version it published; consumers read that instead of guessing "the latest".
"""

from __future__ import annotations

from airflow.sdk import Asset

from common import storage
from common.settings import Settings


def clean_reviews(settings: Settings) -> Asset:
    return Asset(name="reviews_clean", uri=storage.join(settings.lake_uri, "clean", "reviews"))


def review_vectors(settings: Settings) -> Asset:
    """The vector index behind the alias: a folder of the embedded store locally, OpenSearch in aws."""
    store = settings.vector_store
    if store.backend == "lancedb" and store.lancedb is not None:
        location = storage.join(str(settings.resolve_path(store.lancedb.uri)), store.alias)
        uri = location if "://" in location else f"file://{location}"
    else:
        endpoint = store.opensearch.endpoint if store.opensearch else "opensearch"
        uri = f"opensearch://{endpoint.split('://', 1)[-1].rstrip('/')}/{store.alias}"
    return Asset(name="review_vectors", uri=uri)


def latest_event_extra(name: str) -> dict:
    """The `extra` of an Asset's newest event, from Airflow's metadata database: what a consumer
    triggered by that event would receive (used where a run is started by hand, e.g. `make demo`)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        event = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id.desc())
        ).first()
        if event is None:
            raise LookupError(f"no {name} event has been emitted")
        return dict(event.extra)


def summarizer_candidate(settings: Settings) -> Asset:
    """A new summarizer model version registered as a candidate: the event's `extra` carries its
    `models:/` URI, version and lineage; the folder holds one lineage record per candidate."""
    return Asset(name="summarizer_candidate", uri=storage.join(settings.lake_uri, "models", "candidates"))


def summary_quality_breach(settings: Settings) -> Asset:
    """Quality monitoring found summaries below their thresholds: fine-tuning listens to this."""
    return Asset(
        name="summary_quality_breach", uri=storage.join(settings.lake_uri, "monitoring", "quality_breaches")
    )
