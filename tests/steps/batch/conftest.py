"""A lake of committed clean partitions, written the way ingestion's publish commits them (data files and
a manifest naming them, its `published_at` and DVC tag), for the batch's selection tests."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import storage


def publish(
    lake: Path, dt: str, rows: Sequence[tuple[str, str]], published_at: str, tag: str | None = None
) -> None:
    """Commit partition `dt=<dt>` holding one review per (product, language) row."""
    folder = lake / "clean" / "reviews" / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "review_id": [f"r-{dt}-{i}" for i in range(len(rows))],
            "product_id": [p for p, _ in rows],
            "language": [lang for _, lang in rows],
        }
    )
    pq.write_table(table, folder / "part-00000.parquet")
    manifest = {
        "files": ["part-00000.parquet"],
        "published_at": published_at,
        "row_count": len(rows),
        "dvc": {"tag": tag or f"reviews/{dt}"},
    }
    (folder / storage.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


@pytest.fixture
def lake(tmp_path: Path) -> tuple[str, Callable[..., None]]:
    """(lake URI, publish(dt, rows, published_at, tag=None))."""
    root = tmp_path / "lake"
    root.mkdir()
    return f"file://{root}", lambda *args, **kwargs: publish(root, *args, **kwargs)
