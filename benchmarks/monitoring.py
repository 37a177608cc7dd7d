"""`make bench-monitoring`: one day of summaries through quality monitoring's `score` step.

A day of `--summaries` lineage records (default 3,000, the hourly batch's peak day) over an embedded index
of real reviews (MARC from `../shared/data/marc` when present, generated otherwise): each product has 13
reviews of one language, their stars those of one of four context profiles, so the sample draws from
every stratum; most answers are cached, some were rejected by the guardrails and some were not JSON, as a
day has them. Each answer's pros and cons quote the opening words of the snippets they cite, so the
grounding scorer has real work. The step runs as the DAG runs it (`pipelines.monitoring.score.run`: the
day's records read and counted, the stratified sample drawn, the snippets read back from the index, the
scorers' models loaded and run, the verdict judged, the day's MLflow run logged), in a fresh process,
`--rounds` times. Target: at most 5 minutes on the local profile (the reference design's monitor returns
hard-coded scores, so there is no baseline to run beside it).

Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, median_spread, report_header, review_rows

SNIPPETS = 13
DAY = date(2026, 12, 2)
INDEX = "reviews-bench"
TARGET_S = 300.0
# The stars of a context of each profile (mostly positive, mixed, polarized, mostly negative): the day's
# products spread over every stratum the sample draws from.
PROFILES = (
    (5, 5, 4, 5, 4, 5, 5, 4, 5, 3, 5, 4, 2),
    (3, 3, 4, 2, 3, 3, 4, 2, 3, 3, 5, 1, 3),
    (5, 5, 1, 1, 5, 1, 5, 1, 4, 2, 5, 1, 3),
    (1, 1, 2, 1, 2, 1, 1, 2, 1, 3, 1, 2, 4),
)


def day_settings(root: Path) -> Any:
    """The local profile over a private lake, index and tracking store."""
    from common.settings import get_settings

    base = get_settings("local")
    assert base.vector_store.lancedb is not None
    return base.model_copy(
        update={
            "lake_uri": f"file://{root / 'lake'}",
            "vector_store": base.vector_store.model_copy(
                update={
                    "lancedb": base.vector_store.lancedb.model_copy(update={"uri": str(root / "vectors")})
                }
            ),
            "tracking": base.tracking.model_copy(update={"uri": f"sqlite:///{root / 'mlflow.db'}"}),
        }
    )


def _claim(text: str) -> str:
    return " ".join(text.split()[:5]) or "good"


def answer_for(snippets: list[dict[str, Any]]) -> str:
    """Pros quoting the positive snippets they cite, cons the negative ones: a plausible answer."""
    positive = [n for n, s in enumerate(snippets, start=1) if s["stars"] >= 4][:3]
    negative = [n for n, s in enumerate(snippets, start=1) if s["stars"] <= 2][:2]
    return json.dumps(
        {
            "pros": [{"text": _claim(snippets[n - 1]["text"]), "evidence": [n]} for n in positive],
            "cons": [{"text": _claim(snippets[n - 1]["text"]), "evidence": [n]} for n in negative],
            "summary": "Reviewers weigh what they liked against what they did not.",
        }
    )


def build_day(root: Path, summaries: int) -> str:
    """Index the products' reviews and write the day's lineage, one partition per hour."""
    from common import summary_lineage
    from common.vector_store import ChunkRecord, open_vector_store
    from pipelines.batch.lineage import SCHEMA, PartitionWriter

    settings = day_settings(root)
    rows, source = review_rows(6000)
    pools: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        pools[(row["language"], row["stars"])].append(row)
    languages = sorted({language for language, _ in pools})
    store = open_vector_store(settings)
    store.create_index(INDEX, 8)
    chunks: list[ChunkRecord] = []
    hours: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for n in range(summaries):
        language = languages[n % len(languages)]
        shape = PROFILES[(n // len(languages)) % len(PROFILES)]
        snippets = []
        for j, star in enumerate(shape):
            pool = pools[(language, star)]
            snippets.append(pool[(n + j) % len(pool)])
        ids = [f"c{n}-{j}" for j in range(SNIPPETS)]
        chunks += [
            ChunkRecord(
                chunk_id=chunk_id,
                review_id=f"r{chunk_id}",
                product_id=f"p{n:06d}",
                chunk_index=0,
                text=s["text"],
                vector=[0.125**0.5] * 8,
                star_rating=s["stars"],
                language=language,
                created_at=datetime(2026, 12, 1, tzinfo=UTC),
                helpful_votes=0,
                verified_purchase=True,
                embedding_model="bench",
                embedding_dim=8,
            )
            for chunk_id, s in zip(ids, snippets, strict=True)
        ]
        # 90 % cached, 5 % rejected by the guardrails (the answer kept), 5 % not JSON.
        kind = n % 20
        reasons = ["not_json"] if kind == 0 else ["ungrounded"] if kind == 1 else []
        record: dict[str, Any] = dict.fromkeys(SCHEMA.names)
        hour = n % 24
        record.update(
            lineage_key=f"k{n}",
            run_key=f"{DAY:%Y%m%d}T{hour:02d}00",
            generated_at=datetime(2026, 12, 2, hour, tzinfo=UTC).isoformat(),
            product_id=f"p{n:06d}",
            language=language,
            status="failed" if reasons else "summarized",
            reasons=reasons,
            model_version="1",
            index=INDEX,
            snippet_review_ids=[f"r{i}" for i in ids],
            snippet_chunk_ids=ids,
            snippet_stars=[s["stars"] for s in snippets],
            screened_out_chunk_ids=[],
            answer_json=None if kind == 0 else answer_for(snippets),
        )
        hours[hour].append(record)
        if len(chunks) >= 20_000:
            store.upsert(INDEX, chunks)
            chunks = []
    store.upsert(INDEX, chunks)
    for hour, records in hours.items():
        with PartitionWriter(summary_lineage.run_uri(settings.lake_uri, f"{DAY:%Y%m%d}T{hour:02d}00")) as out:
            out.write(records)
    return source


def _score_child(root: str, out: Any) -> None:
    from pipelines.batch.summarize import peak_rss_mib
    from pipelines.monitoring import score
    from pipelines.monitoring.verdict import daily_uri

    settings = day_settings(Path(root))
    started = time.monotonic()
    result = score.run(settings, DAY, daily_uri(settings.lake_uri, DAY))
    metrics = result["metrics"]
    out.put(
        {
            "seconds": round(time.monotonic() - started, 1),
            "peak_rss_mib": round(peak_rss_mib(), 1),
            **{k: metrics[k] for k in ("records", "sampled", "scored", "unscorable", "format_failures")},
            "faithfulness": metrics["faithfulness"],
            "critical": result["critical"],
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="One day of summaries through quality monitoring.")
    parser.add_argument("--out", default=str(REPO / "bench-results" / "monitoring.json"))
    parser.add_argument("--summaries", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        source = build_day(Path(tmp), args.summaries)
        for _ in range(args.rounds):
            out = context.Queue()
            child = context.Process(target=_score_child, args=(tmp, out))
            child.start()
            runs.append(out.get(timeout=3600))
            child.join()
    seconds = [r["seconds"] for r in runs]
    report = {
        **report_header("monitoring"),
        "summaries": args.summaries,
        "reviews": source,
        "runs": runs,
        "seconds": median_spread(seconds),
        "target_s_max": TARGET_S,
        "met": max(seconds) <= TARGET_S,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
