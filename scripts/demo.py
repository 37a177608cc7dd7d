"""`make demo`: the pipelines end to end, offline, on the `local` profile.

Seeds the sample source database, then runs each DAG with `dag.test()` (real Airflow, SQLite metadata
database under `.local/airflow`) and prints where its outputs are. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LLMOPS_DATA_DIR", REPO / ".local"))
os.environ.setdefault("LLMOPS_PROFILE", "local")
os.environ.setdefault("LLMOPS_HOME", str(REPO))
os.environ["LLMOPS_DATA_DIR"] = str(DATA_DIR)
os.environ.setdefault("AIRFLOW_HOME", str(DATA_DIR / "airflow"))
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

END_DATE = date(2026, 11, 20)  # the sample data covers the days before this date
DAYS = 14


def seed_source() -> dict:
    from common.settings import get_settings
    from sample_source import generate

    db = Path(get_settings().source.sqlite_path)
    summary = generate(db, DATA_DIR / "source" / "ground_truth", seed=7, days=DAYS, end_date=END_DATE)
    return {"db": str(db), "summary": summary}


def migrate_airflow_db() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL)
    # Every writer of the vector store runs in this one-slot pool; deferred tasks keep their slot.
    from common.settings import get_settings

    pool = get_settings().embedding.writers_pool
    description = "writers of the vector store (embed, gate, forget), one at a time"
    subprocess.run(
        [str(airflow), "pools", "set", pool, "1", description, "--include-deferred"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_ingestion() -> dict:
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags" / "review_ingestion.py")).get_dag("review_ingestion")
    conf = {
        "backfill_start": (END_DATE - timedelta(days=DAYS)).isoformat(),
        "backfill_end": (END_DATE - timedelta(days=1)).isoformat(),
    }
    dag_run = dag.test(run_conf=conf)
    if dag_run.state != "success":
        raise SystemExit(f"review_ingestion finished in state {dag_run.state}; see the task logs above")
    from common.settings import get_settings
    from pipelines.ingestion.plan import plan_run, resolve_window
    from pipelines.ingestion.report import run_report

    start, end = resolve_window(None, None, conf["backfill_start"], conf["backfill_end"])
    return run_report(plan_run(get_settings().lake_uri, dag_run.run_id, start, end).to_dict())["summary"]


def run_embedding() -> dict:
    """The embedding DAG, started with what the ingestion run's `reviews_clean` event handed over."""
    from airflow.dag_processing.dagbag import DagBag

    from common.assets import latest_event_extra

    handoff = latest_event_extra("reviews_clean")
    dag = DagBag(dag_folder=str(REPO / "dags" / "review_embedding.py")).get_dag("review_embedding")
    dag_run = dag.test(run_conf={"partitions": handoff["partitions"]})
    if dag_run.state != "success":
        raise SystemExit(f"review_embedding finished in state {dag_run.state}; see the task logs above")
    return latest_event_extra("review_vectors")


def run_finetuning() -> dict:
    """The fine-tuning DAG as a manual trigger: golden set, SFT dataset, LoRA training, registration."""
    from airflow.dag_processing.dagbag import DagBag

    from common.assets import latest_event_extra

    dag = DagBag(dag_folder=str(REPO / "dags" / "summarizer_finetuning.py")).get_dag("summarizer_finetuning")
    dag_run = dag.test()
    if dag_run.state != "success":
        raise SystemExit(f"summarizer_finetuning finished in state {dag_run.state}; see the task logs above")
    return latest_event_extra("summarizer_candidate")


def run_evaluation() -> dict:
    """The evaluation DAG on the new candidate, the promotion approved by the demo's policy. A candidate
    the gate rejects is an outcome to show, not a failed demo: its result says why."""
    from airflow.dag_processing.dagbag import DagBag

    from common import storage
    from common.settings import get_settings

    dag = DagBag(dag_folder=str(REPO / "dags" / "summarizer_evaluation.py")).get_dag("summarizer_evaluation")
    dag_run = dag.test(run_conf={"approval_policy": "auto"})
    runs = Path(storage.local_path(storage.join(get_settings().lake_uri, "evaluation")))
    gates = sorted(runs.glob("*/results/gate.json"), key=lambda path: path.stat().st_mtime)
    if not gates:
        raise SystemExit(f"summarizer_evaluation finished in state {dag_run.state} before its gate")
    results = gates[-1].parent
    outcome = {"state": str(dag_run.state), "gate": json.loads(gates[-1].read_text(encoding="utf-8"))}
    for step in ("scan", "load_test", "promote"):
        if (results / f"{step}.json").is_file():
            outcome[step] = json.loads((results / f"{step}.json").read_text(encoding="utf-8"))
    if dag_run.state != "success" and outcome["gate"]["passed"]:
        raise SystemExit(f"summarizer_evaluation finished in state {dag_run.state}; see the task logs above")
    return outcome


def print_evaluation(evaluation: dict, model_uri: str) -> None:
    from common.settings import get_settings

    settings = get_settings()
    gate = evaluation["gate"]
    version = gate["models"]["candidate"]["version"]
    print("\n=== summarizer_evaluation ===")
    print(f"golden set:        {gate['golden_version']} (and a planted-injection twin of every product)")
    experiment = f"{settings.tracking.experiment_prefix}/evaluation"
    print(f"evaluation run:    MLflow run {gate['mlflow_run_id']} (experiment {experiment});")
    print(f"                   the model card is the description of {model_uri}")
    overall = [c for c in gate["checks"] if c["slice"] == "overall" and c["value"] is not None]
    print(
        "gate, overall:     "
        + ", ".join(f"{c['metric']} {c['value']:.2f}" for c in overall if c["kind"] == "floor")
    )
    if "scan" in evaluation:
        scan = evaluation["scan"]
        behaviour = ", ".join(f"{name} {rate:.2f}" for name, rate in scan["behaviour"].items())
        injections = scan["injection_scan"]
        similarity = scan["reference_similarity"].get("candidate", {})
        print(f"behaviour:         {behaviour} (share of golden products passing; reported, not gated)")
        print(
            f"giskard scan:      {injections['issues']} injection technique groups with failures"
            f" over {injections['prompts']} prompts; report {scan['report_uri']}"
        )
        if similarity:
            print(
                f"vs references:     ROUGE-L {similarity['rouge_l']:.2f},"
                f" chrF {similarity['chrf']:.2f} (ragas)"
            )
    if not gate["passed"]:
        print(
            f"gate:              FAILED, {len(gate['reasons'])} checks; version {version} stays a candidate:"
        )
        for reason in gate["reasons"]:
            print(f"                   - {reason}")
    else:
        print(f"gate:              passed; load test {evaluation.get('load_test', {}).get('passed')}")
        if "promote" in evaluation:
            print(f"promoted:          version {version} is champion ({evaluation['promote']['actor']})")


def ensure_base_model() -> None:
    """The local summarizer base: `make setup` builds it; on a machine where it did not, it is built (or
    copied from the cache) here, before fine-tuning needs it."""
    from common.settings import get_settings

    folder = Path(get_settings().training.base_model)
    if (folder / "config.json").is_file():
        return
    print(f"building the local summarizer base into {folder} (about 25 minutes the first time) ...")
    python = REPO / ".venv-tasks" / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "local_models.summarizer_base", "--out", str(folder)],
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def main() -> None:
    ensure_base_model()
    source = seed_source()
    print(f"source database: {source['db']}")
    migrate_airflow_db()
    report = run_ingestion()
    from common.settings import get_settings

    lake = get_settings().lake_uri
    print("\n=== review_ingestion ===")
    print(f"reviews in:        {report['input_count']}")
    print(f"clean:             {report['clean_count']} in {len(report['partitions'])} daily partitions")
    print(f"quarantined:       {report['quarantine_count']}  {json.dumps(report['quarantine_by_reason'])}")
    print(f"clean data:        {lake}/clean/reviews/dt=*/")
    print(f"quarantine:        {lake}/quarantine/reviews/dt=*/  (reason, redacted text, keyed hash)")
    print(f"Data Docs:         {report['data_docs']}")
    print(f"DVC version:       tag {report['dvc']['tag']} (rev {report['dvc']['rev'][:12]})")
    print(f"DVC registry:      {report['dvc']['registry_url']}")

    vectors = run_embedding()
    settings = get_settings()
    metrics = vectors["metrics"]
    print("\n=== review_embedding ===")
    print(f"reviews indexed:   {vectors['reviews_indexed']} as {vectors['chunks_written']} chunks")
    print(f"model:             {vectors['embedding_model']} ({vectors['embedding_dim']} dimensions)")
    print(f"index:             {vectors['index']} (alias {vectors['alias']})")
    print(f"vector store:      {settings.resolve_path(settings.vector_store.lancedb.uri)}")
    print(
        f"index gate:        nDCG@{metrics['k']} {metrics['ndcg_at_k']:.3f},"
        f" recall@{metrics['k']} {metrics['recall_at_k']:.3f}, MRR {metrics['mrr']:.3f}"
        f" over {metrics['queries']} labelled queries across products"
        f" (BM25 alone: {metrics['bm25_ndcg_at_k']:.3f}, {metrics['bm25_recall_at_k']:.3f},"
        f" {metrics['bm25_mrr']:.3f})"
    )
    experiment = f"{settings.tracking.experiment_prefix}/embedding"
    print(f"MLflow:            {settings.tracking.uri} (experiment {experiment})")

    candidate = run_finetuning()
    counts = candidate["dataset_counts"]
    print("\n=== summarizer_finetuning ===")
    print(
        f"SFT dataset:       tag {candidate['dataset_version']} ({counts['train']['examples']} train,"
        f" {counts['validation']['examples']} validation examples;"
        f" golden set {candidate['golden_version']})"
    )
    print(
        f"base model:        {candidate['base_model_id']}; prompt v{candidate['prompt_version']}"
        f" ({candidate['prompt_sha256'][:12]})"
    )
    print(
        "                   (a 1.3M-parameter model trained from scratch on the synthetic sample catalogue"
        " to exercise the real pipeline: its numbers say nothing about real reviews)"
    )
    print(
        f"training:          loss {candidate['first_train_loss']:.3f} -> {candidate['last_train_loss']:.3f}"
        f" in {candidate['train_seconds']:.0f} s"
    )
    print(
        f"adapter:           {candidate['adapter_bytes'] / 1024:.0f} KiB of LoRA weights"
        f" ({candidate['model_dir_bytes'] / 1024:.0f} KiB with its tokenizer)"
    )
    print(
        f"registered:        {candidate['model_uri']} (alias {candidate['alias']},"
        f" MLflow run {candidate['mlflow_run_id']})"
    )

    print_evaluation(run_evaluation(), candidate["model_uri"])


if __name__ == "__main__":
    main()
