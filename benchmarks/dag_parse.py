"""`make bench-dag-parse`: how long each DAG file takes to parse, against an empty DAG file, as ratios.

MWAA's DAG processor gives a file 30 s and re-parses every file every 30 s. On Linux it forks each parse
from a process that has Airflow loaded, so the project's own modules are imported afresh every time. This
does the same: Airflow is imported once here, then every parse runs in a fork of this process, timed
around the file's execution only. The baseline is an empty DAG file (a DAG with no tasks) parsed the same
way, so the ratio says what a file costs beyond Airflow's own floor on this machine, whatever its load.

Each of `--rounds` rounds parses the baseline and every DAG file once, in a rotated order (interleaved:
a machine that slows down mid-run slows every file alike). Per file: the median, min and max seconds of
its rounds, and the median, min and max of its per-round ratio to the baseline of the same round.
Runs in `.venv` (the MWAA mirror), with the profile of `LLMOPS_PROFILE`. Results: JSON at --out.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, report_header

EMPTY_DAG = """from airflow.sdk import DAG

with DAG(dag_id="bench_empty", schedule=None):
    pass
"""


def parse_in_fork(path: Path) -> float:
    """Seconds a forked child takes to execute the DAG file, as the DAG processor's child does."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: parse, report, leave without running the parent's clean-up
        os.close(read_end)
        outcome: dict[str, Any]
        try:
            started = time.perf_counter()
            spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ImportError(f"not a Python file: {path}")
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            outcome = {"seconds": time.perf_counter() - started}
        except BaseException as error:  # reported by the parent, which owns the exit status
            outcome = {"error": f"{type(error).__name__}: {error}"}
        os.write(write_end, json.dumps(outcome).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        received = pipe.read()
    os.waitpid(pid, 0)
    reported = json.loads(received or b'{"error": "the parse process died"}')
    if "error" in reported:
        raise RuntimeError(f"{path.name} did not parse: {reported['error']}")
    return float(reported["seconds"])


def spread(values: list[float], digits: int) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def measure(dag_files: list[Path], baseline: Path, rounds: int) -> dict[str, Any]:
    files = [baseline, *dag_files]
    seconds: dict[Path, list[float]] = {path: [] for path in files}
    ratios: dict[Path, list[float]] = {path: [] for path in dag_files}
    for round_no in range(rounds):
        shift = round_no % len(files)
        this_round = {path: parse_in_fork(path) for path in files[shift:] + files[:shift]}
        for path, value in this_round.items():
            seconds[path].append(value)
        for path in dag_files:
            ratios[path].append(this_round[path] / this_round[baseline])
    return {
        "baseline": {"file": "empty DAG (one DAG, no tasks)", "seconds": spread(seconds[baseline], 4)},
        "dag_files": {
            path.name: {"seconds": spread(seconds[path], 4), "ratio_to_baseline": spread(ratios[path], 2)}
            for path in dag_files
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench-results" / "dag-parse.json")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds, every file once in each")
    parser.add_argument("--dags", type=Path, default=REPO / "dags", help="folder of the DAG files")
    args = parser.parse_args()

    # Loaded once, before any clock starts, as in the DAG processor (and as tests/orchestration/dag_probe.py).
    from airflow.sdk import DAG, Asset, Param, task  # noqa: F401

    dag_files = sorted(args.dags.glob("*.py"))
    if not dag_files:
        parser.error(f"no DAG files in {args.dags}")
    report = report_header("dag-parse")
    report["profile"] = os.environ.get("LLMOPS_PROFILE", "local")
    report["rounds"] = args.rounds
    with tempfile.TemporaryDirectory(prefix="bench-dag-parse-") as tmp:
        baseline = Path(tmp) / "empty_dag.py"
        baseline.write_text(EMPTY_DAG, encoding="utf-8")
        for path in (baseline, *dag_files):  # warm-up, not counted: the disk cache, bytecode of edited files
            parse_in_fork(path)
        report.update(measure(dag_files, baseline, args.rounds))
    print(json.dumps({k: report[k] for k in ("baseline", "dag_files")}, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"results: {args.out}")


if __name__ == "__main__":
    main()
