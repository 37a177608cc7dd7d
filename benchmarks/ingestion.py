"""`make bench-ingestion`: throughput and memory of the ingestion cleaning chain, as ratios.

Throughput (one process, same texts, models loaded before the clock starts; `--rounds` interleaved rounds
of all three, each ratio reported as the median of its per-round values with their spread):
- `chain`: the project's chain (`ReviewChain.process`) with a toxicity model of Detoxify's production
  architecture and size (BERT-base, random weights: the arithmetic costs the same), int8, batched;
- `model_alone`: that model in the chain's own inference setup on exactly the texts the chain sent it;
  target: chain >= 0.8 x model_alone (everything but the model costs at most 20%);
- `reference`: each step row by row with the model in fp32 at batch size 1, as the reference design did;
  target: chain >= 2.5 x reference;
- agreement: the int8 model's scores against fp32 on the same texts; target: max |diff| <= 0.02.

Memory: the `transform` step in a subprocess over generated raw data of each size (tiny toxicity model);
target: peak RSS at the largest size within 20% of the smallest.

Texts are real multilingual reviews from `../shared/data/marc` when present (never copied into the
repository), balanced over languages and star ratings (the file is sorted by stars), generated reviews
otherwise. Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.common import REPO, median_spread, report_header, review_rows

if TYPE_CHECKING:
    from pipelines.ingestion.chain import RawRecord


def raw_records(texts: list[str]) -> list[RawRecord]:
    start = datetime(2026, 11, 19, tzinfo=UTC)
    return [
        {
            "review_id": f"bench-{i:07d}",
            "product_id": f"p{i % 97}",
            "star_rating": str(1 + i % 5),
            "review_text": text,
            "text_type": "str",
            "created_at": start + timedelta(seconds=i),
            "helpful_votes": i % 7,
            "verified_purchase": True,
            "created_at_text": None,
        }
        for i, text in enumerate(texts)
    ]


def settings_with(checkpoint: Path, quantize: bool, batch_size: int):
    from common.settings import load_settings

    settings = load_settings("local")
    tox = settings.ingestion.toxicity.model_copy(
        update={
            "checkpoints": {"default": str(checkpoint)},
            "quantize_int8": quantize,
            "batch_size": batch_size,
        }
    )
    ingestion = settings.ingestion.model_copy(update={"toxicity": tox})
    return settings.model_copy(update={"ingestion": ingestion})


def throughput(n: int, work: Path, rounds: int) -> dict[str, Any]:
    """The chain, the model alone and the row-by-row reference, measured in `rounds` interleaved rounds.

    Each round runs all three on the same texts, one right after another, in alternating order (ABC, CBA,
    ...), so load that comes and goes on the machine falls on all three alike; the ratios are taken per
    round and reported as their median with the spread (min, max). One long run per variant would put
    each variant in a different stretch of the machine's load and move the ratios with it.
    """
    import torch
    from detoxify import Detoxify

    from common.injection import InjectionScreen
    from common.pii import PiiRedactor
    from common.toxicity import ToxicityScorer
    from local_models.toxicity import build_checkpoint
    from pipelines.ingestion.chain import ReviewChain
    from pipelines.ingestion.cleaning import clean_text
    from pipelines.ingestion.language import LanguageDetector

    rows, source = review_rows(n)  # balanced over languages and star ratings
    texts = [row["text"] for row in rows]
    records = raw_records(texts)
    checkpoint = build_checkpoint(work / "base-model", size="base", arch="bert", texts=texts)

    int8 = settings_with(checkpoint, quantize=True, batch_size=32)
    ingestion = int8.ingestion
    redactor = PiiRedactor.from_settings(ingestion)
    scorer = ToxicityScorer.from_settings(ingestion)
    fp32 = ToxicityScorer.from_settings(settings_with(checkpoint, quantize=False, batch_size=32).ingestion)
    # The reference design: every step row by row, Detoxify's own predict() in fp32 on one text at a time.
    detector = LanguageDetector.from_settings(ingestion)
    screen = InjectionScreen.from_file(int8.resolve_path(ingestion.injection.patterns_file))
    detox = Detoxify(
        "original",
        checkpoint=str(checkpoint),
        device="cpu",
        huggingface_config_path=str(checkpoint.parent / checkpoint.stem),
    )
    reference_texts = texts[: max(60, n // 4)]
    scorer.score(["warm-up text for the model"], ["en"])

    def run_chain(round_no: int) -> tuple[float, list[tuple[str, str]], int, int]:
        """Seconds of one chain over every record, and the (text, language) pairs it sent the model."""
        sent: list[tuple[str, str]] = []

        class Recording:
            def score(self, batch_texts: list[str], languages: list[str]) -> list[float]:
                sent.extend(zip(batch_texts, languages, strict=True))
                return scorer.score(batch_texts, languages)

        recording: Any = Recording()
        chain = ReviewChain(int8, work / f"chain-{round_no}", redactor=redactor, scorer=recording)
        started = time.perf_counter()
        clean, quarantine = chain.process(records)
        seconds = time.perf_counter() - started
        chain.close()
        assert len(clean) + len(quarantine) == len(records)
        return seconds, sent, len(clean), len(quarantine)

    def run_model(sent: list[tuple[str, str]]) -> float:
        started = time.perf_counter()
        scorer.score([t for t, _ in sent], [lang for _, lang in sent])
        return time.perf_counter() - started

    def run_reference() -> float:
        started = time.perf_counter()
        with torch.inference_mode():
            for raw in reference_texts:
                text = clean_text(raw)
                language = detector.detect(text)
                text, _ = redactor.redact(text, language if language in ingestion.languages else "en")
                screen.match(text)
                detox.predict(text)
        return time.perf_counter() - started

    per_round: list[dict[str, float]] = []
    sent: list[tuple[str, str]] = []
    clean_n = quarantined_n = 0
    for round_no in range(rounds):
        # The model alone needs the texts the chain sent it: a round in reverse order reuses the previous
        # round's (the chain is deterministic, so they are the same texts).
        if round_no % 2 == 0:
            chain_s, sent, clean_n, quarantined_n = run_chain(round_no)
            model_s = run_model(sent)
            reference_s = run_reference()
        else:
            reference_s = run_reference()
            model_s = run_model(sent)
            chain_s, sent, clean_n, quarantined_n = run_chain(round_no)
        chain_rate = len(records) / chain_s
        model_rate = len(sent) / model_s
        reference_rate = len(reference_texts) / reference_s
        per_round.append(
            {
                "chain_reviews_per_s": round(chain_rate, 2),
                "model_alone_texts_per_s": round(model_rate, 2),
                "reference_reviews_per_s": round(reference_rate, 2),
                "chain_vs_model_alone": round(chain_rate / model_rate, 3),
                "chain_vs_reference": round(chain_rate / reference_rate, 3),
            }
        )
        print(json.dumps({"round": round_no, **per_round[-1]}), flush=True)

    model_texts, model_langs = [t for t, _ in sent], [lang for _, lang in sent]
    int8_scores = scorer.score(model_texts, model_langs)
    fp32_scores = fp32.score(model_texts, model_langs)
    max_diff = max((abs(a - b) for a, b in zip(int8_scores, fp32_scores, strict=True)), default=0.0)

    vs_model = median_spread([r["chain_vs_model_alone"] for r in per_round])
    vs_reference = median_spread([r["chain_vs_reference"] for r in per_round])
    return {
        "texts": source,
        "reviews": len(records),
        "scored_by_model": len(model_texts),
        "clean": clean_n,
        "quarantined": quarantined_n,
        "reference_reviews": len(reference_texts),
        "rounds": per_round,
        "chain_vs_model_alone": vs_model,
        "chain_vs_reference": vs_reference,
        "int8_vs_fp32_max_abs_diff": round(max_diff, 5),
        "targets": {
            "chain_vs_model_alone": 0.8,
            "chain_vs_reference": 2.5,
            "int8_vs_fp32_max_abs_diff": 0.02,
        },
        "met": {
            "chain_vs_model_alone": vs_model["median"] >= 0.8,
            "chain_vs_reference": vs_reference["median"] >= 2.5,
            "int8_vs_fp32_max_abs_diff": max_diff <= 0.02,
        },
    }


def write_raw(n: int, path: Path) -> None:
    import pyarrow.parquet as pq

    from common.schemas import RAW_REVIEW
    from pipelines.ingestion.extract import to_raw_batch
    from sample_source import iter_reviews

    class Row:
        def __init__(self, d: dict[str, Any]) -> None:
            self.__dict__.update(d)

    path.parent.mkdir(parents=True, exist_ok=True)
    rows = iter_reviews(
        seed=5,
        products=max(50, n // 40),
        mean_reviews_per_product=40,
        days=30,
        end_date=datetime(2026, 11, 20).date(),
        defect_rate=0.12,
    )
    with pq.ParquetWriter(path, RAW_REVIEW) as writer:
        batch: list[Row] = []
        written = 0
        for row in rows:
            batch.append(Row(row))
            if len(batch) == 5000:
                writer.write_batch(to_raw_batch(batch))
                written += len(batch)
                batch = []
            if written + len(batch) >= n:
                break
        if batch:
            writer.write_batch(to_raw_batch(batch))


def peak_rss_of_transform(raw_dir: Path, out: Path) -> tuple[float, float, dict[str, Any]]:
    """Peak RSS (MiB) and seconds of the transform step on raw_dir, in a fresh wrapper process."""
    step = [
        sys.executable,
        "-m",
        "pipelines.ingestion.transform",
        "--raw-uri",
        str(raw_dir),
        "--output-uri",
        str(out / "staged"),
        "--result-uri",
        str(out / "result.json"),
    ]
    wrapper = (
        "import resource, subprocess, sys, time, json; t = time.perf_counter(); "
        f"code = subprocess.run({step!r}).returncode; "
        "print(json.dumps({'code': code, 'seconds': time.perf_counter() - t, "
        "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, check=True, cwd=REPO
    )
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    if report["code"] != 0:
        raise RuntimeError(f"transform failed on {raw_dir}: {completed.stderr[-2000:]}")
    return report["maxrss_kb"] / 1024, report["seconds"], json.loads((out / "result.json").read_text())


def memory_run(n: int, work: Path) -> dict[str, Any]:
    """Generate `n` raw reviews and measure the transform step on them in its own process."""
    raw = work / f"raw-{n}"
    write_raw(n, raw / "part-00000.parquet")
    peak, seconds, result = peak_rss_of_transform(raw, work / f"out-{n}")
    return {
        "reviews": n,
        "peak_rss_mib": round(peak, 1),
        "seconds": round(seconds, 1),
        "reviews_per_s": round(n / seconds, 1),
        "clean": result["clean_count"],
        "quarantined": result["quarantine_count"],
    }


def memory(sizes: list[int], work: Path, jobs: int = 1) -> dict[str, Any]:
    """Peak RSS of the transform step at each size. Each size runs in its own processes, so `jobs` > 1
    runs sizes side by side (each peak is still its own process's) to save wall time on large inputs."""
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(memory_run, n, work) for n in sizes]
        for done in as_completed(futures):
            print(json.dumps(done.result()), flush=True)  # a finished size is not lost to a later one
        results = [future.result() for future in futures]
    growth = results[-1]["peak_rss_mib"] / results[0]["peak_rss_mib"]
    return {
        "runs": results,
        "jobs": jobs,
        "largest_vs_smallest_peak": round(growth, 3),
        "target": 1.2,
        "met": growth <= 1.2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "ingestion.json")
    parser.add_argument("--reviews", type=int, default=480, help="texts for the throughput comparison")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved throughput rounds")
    parser.add_argument("--memory-sizes", default="100000,1000000", help="comma-separated input sizes")
    parser.add_argument("--memory-jobs", type=int, default=1, help="sizes measured side by side")
    parser.add_argument("--skip", choices=["throughput", "memory"], action="append", default=[])
    args = parser.parse_args()
    report = report_header("ingestion")
    with tempfile.TemporaryDirectory(prefix="bench-ingestion-") as tmp:
        work = Path(tmp)
        if "throughput" not in args.skip:
            report["throughput"] = throughput(args.reviews, work, args.rounds)
            print(json.dumps(report["throughput"], indent=2))
        if "memory" not in args.skip:
            sizes = [int(s) for s in args.memory_sizes.split(",")]
            report["memory"] = memory(sizes, work, args.memory_jobs)
            print(json.dumps(report["memory"], indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
