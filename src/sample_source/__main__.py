"""`python -m sample_source --db PATH --ground-truth DIR`: seed the source database.

Options mirror `generate()`; the summary (counts by language, star and defect) is printed as JSON.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

from sample_source.generator import DEFAULT_END_DATE, generate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sample_source", description=__doc__)
    parser.add_argument("--db", type=Path, required=True, help="SQLite file to (re)create")
    parser.add_argument(
        "--ground-truth", type=Path, required=True, help="folder for products.jsonl and labels"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--mean-reviews", type=int, default=30, help="mean reviews per product")
    parser.add_argument("--days", type=int, default=14, help="days of reviews before --end-date")
    parser.add_argument(
        "--end-date",
        type=date.fromisoformat,
        default=DEFAULT_END_DATE,
        help="exclusive end of the review window (YYYY-MM-DD)",
    )
    parser.add_argument("--defect-rate", type=float, default=0.12)
    parser.add_argument("--force-huge", action="store_true", help="include the ~1 MB review even when small")
    args = parser.parse_args(argv)
    summary = generate(
        args.db,
        args.ground_truth,
        seed=args.seed,
        products=args.products,
        mean_reviews_per_product=args.mean_reviews,
        days=args.days,
        end_date=args.end_date,
        defect_rate=args.defect_rate,
        huge=True if args.force_huge else None,
    )
    print(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
