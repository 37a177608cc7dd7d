"""The summarizer_finetuning DAG end to end under `dag.test()`, on data the ingestion and embedding DAGs
produced: golden set, SFT dataset, LoRA training of the tiny local model, MLflow registration and the
`summarizer_candidate` Asset event.

It shares the session's data folder and Airflow database with `test_ingestion_dag` (an Asset's URI is
fixed per Airflow database, so the lake cannot move), and runs after it (file order): its sample source
covers days before that module's, so its partitions never land in that module's counts, and its
products (another seed) are the only ones its references name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.orchestration.test_ingestion_dag import dag_from, latest_asset_event_extra

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 11, 16)  # test_ingestion_dag's window starts on the 17th
DAYS = 4
TASKS_PYTHON = REPO / ".venv-tasks" / "bin" / "python"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained():
    """Ingestion, embedding, then fine-tuning, each as Airflow runs it; yields the candidate event.

    It trains the random-weight stand-in (`local_models.tiny_base`, built by `make setup` in seconds):
    the test checks the pipeline's plumbing, not answers; the profile's trained base has a benchmark."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMOPS_TRAINING__BASE_MODEL", str(REPO / ".local" / "models" / "base" / "tiny-llama"))
        patch.setenv("LLMOPS_TRAINING__BASE_MODEL_ID", "local/tiny-llama-seed0")
        yield from _trained()


def _trained():
    from common.settings import get_settings
    from sample_source import generate

    data_dir = Path(os.environ["LLMOPS_DATA_DIR"])
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
    get_settings.cache_clear()
    generate(
        Path(get_settings().source.sqlite_path),
        data_dir / "source" / "ground_truth",
        seed=7,
        products=60,
        mean_reviews_per_product=30,
        days=DAYS,
        end_date=END,
    )
    conf = {
        "backfill_start": (END - timedelta(days=DAYS)).isoformat(),
        "backfill_end": (END - timedelta(days=1)).isoformat(),
    }
    assert dag_from("review_ingestion.py", "review_ingestion").test(run_conf=conf).state == "success"
    partitions = latest_asset_event_extra("reviews_clean")["partitions"]
    embedding = dag_from("review_embedding.py", "review_embedding")
    assert embedding.test(run_conf={"partitions": partitions}).state == "success"

    finetuning = dag_from("summarizer_finetuning.py", "summarizer_finetuning")
    # A large step: the stand-in base has random weights, and the loss must visibly fall in 12 steps.
    run = finetuning.test(run_conf={"max_steps": 12, "lora_rank": 4, "learning_rate": 0.01})
    assert run.state == "success"
    yield {
        "dag": finetuning,
        "states": {ti.task_id: ti.state for ti in run.get_task_instances()},
        "data_dir": data_dir,
        "event": latest_asset_event_extra("summarizer_candidate"),
    }


def in_task_environment(code: str, data_dir: Path) -> dict:
    """Run `code` in the task environment (MLflow, torch) against the test's data; it prints JSON."""
    completed = subprocess.run(
        [str(TASKS_PYTHON), "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "LLMOPS_DATA_DIR": str(data_dir)},
        cwd=REPO,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_finetuning_is_scheduled_monthly_and_by_a_quality_breach(trained):
    timetable = trained["dag"].timetable
    assert [a.name for a in timetable.asset_condition.objects] == ["summary_quality_breach"]
    assert timetable.timetable.expression == "0 3 1 * *"


def test_a_candidate_is_registered_with_its_lineage(trained):
    event = trained["event"]
    assert event["model_uri"] == f"models:/review-summarizer/{event['version']}"
    assert event["alias"] == "candidate"
    assert event["dataset_version"] and event["golden_version"]
    assert event["base_model_id"] == "local/tiny-llama-seed0"
    assert event["last_train_loss"] < event["first_train_loss"]
    assert event["adapter_bytes"] > 0

    code = (
        "import json; from mlflow import MlflowClient; from common.settings import get_settings; "
        "from common.tracking import mlflow_for; mlflow_for(get_settings()); c = MlflowClient(); "
        "v = c.get_model_version_by_alias('review-summarizer', 'candidate'); "
        "r = c.get_run(v.run_id); "
        "print(json.dumps({'version': str(v.version), 'tags': v.tags, 'params': r.data.params, "
        "'steps': [m.step for m in c.get_metric_history(r.info.run_id, 'train_loss')]}))"
    )
    registered = in_task_environment(code, trained["data_dir"])
    assert registered["version"] == event["version"]
    tags = registered["tags"]
    assert tags["llmops.dataset.dvc_tag"] == event["dataset_version"]
    assert tags["llmops.golden.dvc_tag"] == event["golden_version"]
    assert tags["llmops.prompt.sha256"] == event["prompt_sha256"]
    # The trigger form's values reached the training job and the run's parameters.
    assert registered["params"]["lora_rank"] == "4" and registered["params"]["max_steps"] == "12"
    assert registered["steps"] == list(range(1, 13))


def test_the_dataset_it_trained_on_is_pinned_in_dvc(trained):
    data_dir = trained["data_dir"]
    card = json.loads(next((data_dir / "lake" / "training").glob("*/sft/dataset_card.json")).read_text())
    assert card["golden_version"]["tag"] == trained["event"]["golden_version"]
    tags = subprocess.run(
        ["git", "-C", str(data_dir / "dvc" / "registry.git"), "tag"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert trained["event"]["dataset_version"] in tags and trained["event"]["golden_version"] in tags


def test_the_run_removed_its_staged_data_and_kept_the_model(trained):
    """The teardown deletes the run's copies of review data (each a DVC version), not the model's files."""
    assert trained["states"]["cleanup"] == "success"
    data_dir = trained["data_dir"]
    run = next((data_dir / "lake" / "training").glob("*/sft")).parent
    assert not (run / "sft" / "train").exists() and not (run / "sft" / "validation").exists()
    assert not (run / "golden").exists()
    assert (run / "sft" / "dataset_card.json").is_file() and any((run / "model").iterdir())
    staging = data_dir / "lake" / "staging" / "training"
    finished = [results.parent.parent for results in staging.glob("*/results/register.json")]
    assert finished and not [run for run in finished if (run / "plan.json").exists()]
