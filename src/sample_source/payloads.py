"""`python -m sample_source.payloads [--out FILE]`: write the load test's review snippets.

The load test (`pipelines.loadtest`) sends summarizer-shaped requests over review snippets of one product.
The snippets are the generator's clean reviews, grouped by product; they are written to a file here so
that the load test reads a file and never runs the generator (which is tooling, absent from the images
and the MWAA bundle). The file records the seed and product count it was made from, and the load test
refuses one that does not match its settings, so a stale file cannot silently change what is sent.

Defaults come from `load_test` in the settings (`payloads_file`, `seed`, `corpus_products`); `make
load-test` and the load-test workflow run this before every run (it takes about a second).
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from sample_source.generator import iter_labelled_reviews


def snippets_by_product(seed: int, products: int) -> dict[str, list[dict[str, Any]]]:
    """Product id -> its clean reviews as {text, star_rating, language}, in the generator's order."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row, label in iter_labelled_reviews(seed=seed, products=products, defect_rate=0.0, huge=False):
        grouped[row["product_id"]].append(
            {
                "text": str(row["review_text"]),
                "star_rating": int(row["star_rating"]),
                "language": label["language"],
            }
        )
    return dict(sorted(grouped.items()))


def write(path: str | Path, *, seed: int, products: int) -> Path:
    """Write the snippets file for `seed` and `products`; written beside and renamed, so a reader never
    sees half a file."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"seed": seed, "products": products, "snippets": snippets_by_product(seed, products)}
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(document, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(out)
    return out


def main(argv: list[str] | None = None) -> None:
    from common.settings import load_settings

    settings = load_settings().load_test
    if settings is None:
        raise SystemExit("config/pipeline.yaml has no `load_test` section")
    parser = argparse.ArgumentParser(prog="python -m sample_source.payloads", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path(settings.payloads_file), help="file to (re)write")
    parser.add_argument("--seed", type=int, default=settings.seed, help="generator seed")
    parser.add_argument("--products", type=int, default=settings.corpus_products, help="products to draw")
    args = parser.parse_args(argv)
    out = write(args.out, seed=args.seed, products=args.products)
    snippets = json.loads(out.read_text(encoding="utf-8"))["snippets"]
    print(
        f"wrote {out}: {sum(map(len, snippets.values()))} review snippets of {len(snippets)} products "
        f"(seed {args.seed})"
    )


if __name__ == "__main__":
    main()
