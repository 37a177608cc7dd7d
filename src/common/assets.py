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
