"""`make bench-batch`: the hourly batch's whole task path, against the reference design's loop.

One product a (product, language) of 13 real reviews (MARC from `../shared/data/marc` when present,
generated otherwise), indexed in the embedded vector store and published in a lake partition. The batch
path is what the DAG's tasks run: `select` (the watermark over the lake's manifests, the queue) and the
`summarize` step (balanced contexts by `msearch`, the injection screen, generation through the serving
client, the real guardrails with the local profile's models, the conditional cache write, the lineage
partition), against a simulated endpoint in a child process: `--server-concurrency` answers at once, each
a log-normal draw of mean `--latency-s` (`--latency-sigma`), a valid summary.

- `path`: `--products` products, `--rounds` interleaved rounds against the reference design's loop (a
  10-thread pool sending each product's request once, no retries, no retrieval, no guardrails, nothing
  cached: what it does is a subset of ours). Reported: seconds, the ratio to the client's theoretical
  minimum (the latencies the endpoint drew, summed, over its concurrency: no client can beat it), the
  ratio to the baseline, and where the batch's time goes (`stage_seconds`). Targets: within 50 s for 500
  products; within 1.2 x the theoretical minimum.
- `memory`: peak RSS of the batch path (select and summarize in a fresh process, the models loaded) for
  each of `--memory-products`; target: flat (within 20 %) as products grow, since a run holds one chunk
  (`batch.chunk_products`) at a time.

Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, median_spread, report_header, review_rows
from benchmarks.serving import SimulatedEndpoint, baseline_round, request_bodies

SNIPPETS = 13  # K_POSITIVE + K_NEGATIVE + K_RECENT of config/pipeline.yaml
HOUR = datetime(2026, 12, 3, 15, tzinfo=UTC)


def world_settings(root: Path, url: str, cap: int, chunk: int | None = None) -> Any:
    """The local profile over a private lake, index, cache and registry, serving at `url`."""
    from common.settings import get_settings

    base = get_settings("local")
    assert base.vector_store.lancedb is not None and base.summary_cache is not None
    batch = {"max_products_per_run": 10**9, **({"chunk_products": chunk} if chunk else {})}
    return base.model_copy(
        update={
            "lake_uri": f"file://{root / 'lake'}",
            "serving": base.serving.model_copy(
                update={
                    "local": None,
                    "base_url": url,
                    "adapters_uri": str(root / "serving"),
                    "concurrency": cap,
                    "backoff_initial_s": 0.1,
                    "backoff_max_s": 2.0,
                }
            ),
            "vector_store": base.vector_store.model_copy(
                update={
                    "lancedb": base.vector_store.lancedb.model_copy(update={"uri": str(root / "vectors")})
                }
            ),
            "summary_cache": base.summary_cache.model_copy(update={"sqlite_path": str(root / "cache.db")}),
            "tracking": base.tracking.model_copy(update={"uri": f"sqlite:///{root / 'mlflow.db'}"}),
            "batch": base.batch.model_copy(update=batch),
        }
    )


def build_world(root: Path, products: int) -> str:
    """Index `products` products of 13 reviews each, publish them in one lake partition, export a
    champion; returns where the reviews came from."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from common import storage
    from common.serving.adapters import MANIFEST
    from common.vector_store import ChunkRecord, open_vector_store

    settings = world_settings(root, "http://127.0.0.1:9", 1)
    rows, source = review_rows(min(products * SNIPPETS, 4000))
    store = open_vector_store(settings)
    store.create_index("reviews-bench", 8)
    batch: list[ChunkRecord] = []
    for n in range(products * SNIPPETS):
        row, product = rows[n % len(rows)], f"p{n // SNIPPETS:06d}"
        batch.append(
            ChunkRecord(
                chunk_id=f"c{n}",
                review_id=f"r{n}",
                product_id=product,
                chunk_index=0,
                text=row["text"],
                vector=[1.0 / math.sqrt(8)] * 8,
                star_rating=row["stars"],
                language="en",
                created_at=HOUR - timedelta(hours=n % 500),
                helpful_votes=n % 17,
                verified_purchase=True,
                embedding_model="bench",
                embedding_dim=8,
            )
        )
        if len(batch) == 20_000:
            store.upsert("reviews-bench", batch)
            batch = []
    store.upsert("reviews-bench", batch)
    store.swap_alias(settings.vector_store.alias, "reviews-bench")
    folder = root / "lake" / "clean" / "reviews" / "dt=2026-12-03"
    folder.mkdir(parents=True)
    ids = [f"p{i:06d}" for i in range(products)]
    pq.write_table(
        pa.table({"product_id": ids, "language": ["en"] * products}), folder / "part-00000.parquet"
    )
    (folder / storage.MANIFEST).write_text(
        json.dumps(
            {"files": ["part-00000.parquet"], "published_at": HOUR.isoformat(), "dvc": {"tag": "bench"}}
        )
    )
    storage.write_json(storage.join(settings.serving.adapters_uri, "champion", MANIFEST), {"version": "1"})
    return source


def batch_round(
    root: Path, url: str, cap: int, name: str, guardrails: Any = None, chunk: int | None = None
) -> dict[str, Any]:
    """One batch run over every product (a fresh queue each time): seconds and the step's result."""
    from common import storage
    from pipelines.batch.plan import plan_run, select_for_run
    from pipelines.batch.summarize import run

    settings = world_settings(root, url, cap, chunk)
    storage.remove(storage.join(settings.lake_uri, "batch"))
    started = time.perf_counter()
    plan = plan_run(settings, f"manual__{name}", HOUR, True, {})
    select_for_run(settings, plan, HOUR)
    result = run(settings, plan, guardrails=guardrails)
    return {"seconds": time.perf_counter() - started, "result": result}


def _memory_child(root: str, url: str, cap: int, chunk: int | None, out: Any) -> None:
    from pipelines.batch.summarize import peak_rss_mib

    outcome = batch_round(Path(root), url, cap, "memory", chunk=chunk)
    out.put(
        {
            "seconds": round(outcome["seconds"], 1),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            "summarized": outcome["result"]["summarized"],
            "failed": outcome["result"]["failed"],
        }
    )


def path(args: argparse.Namespace) -> dict[str, Any]:
    from common.settings import get_settings
    from pipelines.batch.guard import Guardrails

    n, cap = args.products, args.server_concurrency
    guardrails = Guardrails.from_settings(get_settings("local"))  # loaded once, as the step loads them
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        root = Path(tmp)
        source = build_world(root, n)
        bodies, _ = request_bodies(n, "champion", 384)
        for number in range(args.rounds):
            with SimulatedEndpoint(
                args.latency_s, cap, latency_sigma=args.latency_sigma, seed=number
            ) as server:
                order = ["batch", "baseline"] if number % 2 == 0 else ["baseline", "batch"]
                measured: dict[str, Any] = {}
                for side in order:
                    before = server.stats().get("latency_ms", 0)
                    if side == "batch":
                        outcome = batch_round(root, server.url, cap, f"round{number}", guardrails)
                        measured["batch_s"] = outcome["seconds"]
                        measured["result"] = {
                            k: outcome["result"][k]
                            for k in ("summarized", "failed", "pending", "failure_reasons", "stage_seconds")
                        }
                    else:
                        measured["baseline_s"], measured["baseline_lost"] = baseline_round(
                            server.url, bodies, 120
                        )
                    drawn = (server.stats().get("latency_ms", 0) - before) / 1000
                    measured[f"{side}_minimum_s"] = drawn / cap
                rounds.append(measured)
    to_minimum = [r["batch_s"] / r["batch_minimum_s"] for r in rounds]
    to_baseline = [r["batch_s"] / r["baseline_s"] for r in rounds]
    return {
        "products": n,
        "reviews": source,
        "endpoint": {"latency_s": args.latency_s, "latency_sigma": args.latency_sigma, "concurrency": cap},
        "rounds": [{k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in rounds],
        "batch_s": median_spread([r["batch_s"] for r in rounds]),
        "batch_to_theoretical_minimum": median_spread(to_minimum),
        "batch_to_baseline": median_spread(to_baseline),
        "targets": {"batch_s_max": 50.0, "to_minimum_max": 1.2},
        "met": {
            "within_50_s": max(r["batch_s"] for r in rounds) <= 50.0,
            "within_1_2x_minimum": max(to_minimum) <= 1.2,
        },
    }


def memory(args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.memory_products.split(",")]
    context = multiprocessing.get_context("spawn")
    runs = []
    for size in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-batch-memory-") as tmp:
            build_world(Path(tmp), size)
            with SimulatedEndpoint(args.latency_s / 10, args.server_concurrency) as server:
                out = context.Queue()
                child = context.Process(
                    target=_memory_child,
                    args=(tmp, server.url, args.server_concurrency, args.chunk_products, out),
                )
                child.start()
                measured = out.get(timeout=7200)
                child.join()
            runs.append({"products": size, **measured})
    peaks = [r["peak_rss_mib"] for r in runs]
    return {
        "runs": runs,
        "chunk_products": args.chunk_products or "batch.chunk_products",
        "peak_growth": round(peaks[-1] / peaks[0], 3),
        "target": "within 1.2",
        "met": peaks[-1] / peaks[0] <= 1.2,
        "note": "latency a tenth of the path section's: memory, not time, is measured here",
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default=str(REPO / "bench-results" / "batch.json"))
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency-s", type=float, default=1.5)
    parser.add_argument("--latency-sigma", type=float, default=0.5)
    parser.add_argument("--server-concurrency", type=int, default=32)
    parser.add_argument("--memory-products", default="500,5000")
    parser.add_argument("--sections", default="path,memory")
    parser.add_argument(
        "--chunk-products",
        type=int,
        help="memory section: products a run holds at once (default: the setting)",
    )
    args = parser.parse_args()
    report = report_header("batch")
    sections = args.sections.split(",")
    if "path" in sections:
        report["path"] = path(args)
        print(json.dumps(report["path"], indent=2))
    if "memory" in sections:
        report["memory"] = memory(args)
        print(json.dumps(report["memory"], indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
