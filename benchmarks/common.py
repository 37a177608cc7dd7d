"""What the benchmarks share: the review texts they run on and the machine facts their reports carry.

Real multilingual reviews (MARC) are read at run time from `../shared/data/marc` when present and never
copied into the repository; without them the project's deterministic sample generator stands in, so a
fresh clone can still run every benchmark.
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MARC = REPO.parent / "shared" / "data" / "marc" / "marc_test_all_langs.csv"
SUPPORTED = ("de", "en", "es", "fr")  # MARC's languages that the project supports (it also has ja, zh)


def marc_rows(n: int, *, balance_stars: bool = False) -> list[dict[str, Any]]:
    """n real reviews (`text`, `language`, `stars`), interleaved over languages (and over star ratings
    with `balance_stars`: the file is sorted by stars, so its first rows of a language are all 1-star),
    deterministic; [] without the data set."""
    if not MARC.is_file():
        return []
    stars = range(1, 6) if balance_stars else (None,)
    buckets: dict[tuple[str, int | None], list[dict[str, Any]]] = {
        (lang, star): [] for lang in SUPPORTED for star in stars
    }
    cap = n // len(buckets)
    with MARC.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["lang"], int(row["stars"]) if balance_stars else None)
            bucket = buckets.get(key)
            if bucket is not None and len(bucket) < cap:
                bucket.append({"text": row["text"], "language": row["lang"], "stars": int(row["stars"])})
    rows = [r for group in zip(*buckets.values(), strict=False) for r in group]
    return rows[:n]


def generated_rows(n: int) -> list[dict[str, Any]]:
    """n generated clean reviews (`text`, `language`, `stars`) from the sample generator, no defects."""
    from sample_source import iter_labelled_reviews

    rows: list[dict[str, Any]] = []
    for row, label in iter_labelled_reviews(
        seed=3,
        products=max(10, n // 20),
        mean_reviews_per_product=25,
        days=10,
        end_date=datetime(2026, 11, 20).date(),
        defect_rate=0.0,
    ):
        if isinstance(row["review_text"], str):
            rows.append(
                {"text": row["review_text"], "language": label["language"], "stars": int(row["star_rating"])}
            )
        if len(rows) == n:
            break
    return rows


def review_rows(n: int) -> tuple[list[dict[str, Any]], str]:
    """n reviews with their language and stars (MARC balanced over both when present, generated
    otherwise), and which of the two they are."""
    rows = marc_rows(n, balance_stars=True)
    if rows:
        return rows, f"marc ({MARC.name})"
    return generated_rows(n), "generated"


def report_header(name: str) -> dict[str, Any]:
    """The opening of every benchmark report: which benchmark, when, and on what machine (numbers from a
    2-core laptop and a 64-core server are not comparable)."""
    return {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }


def median_spread(values: list[float]) -> dict[str, float]:
    """A ratio over interleaved rounds: its median, with the smallest and largest as its spread."""
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }
