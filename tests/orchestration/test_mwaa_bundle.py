"""The MWAA bundle: built by the same script CI uses, synced to S3 (moto's server on loopback), downloaded
into an empty folder, and parsed from there alone, under the `aws` profile, as MWAA would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.aws_server import create_bucket
from tests.orchestration.aws_env import AWS_PROFILE_ENV

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter with the repository's own src/ removed from sys.path, so every project
# import must come from the downloaded dags folder.
PARSE_FROM_BUNDLE = r"""
import json, os, sys
sys.path = [p for p in sys.path if not p.rstrip("/").endswith("/src")]
dags_folder = sys.argv[1]
sys.path.insert(0, dags_folder)
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=dags_folder)
import common, pipelines
tasks = {d: {t.task_id: type(t).__name__ for t in dag.tasks} for d, dag in bag.dags.items()}
transform = bag.dags["review_ingestion"].get_task("transform")
print(json.dumps({
    "errors": {k: str(v) for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dags), "tasks": tasks,
    "common_file": common.__file__, "pipelines_file": pipelines.__file__,
    "transform_config": transform.config, "deferrable": transform.deferrable,
    "check_interval": transform.check_interval, "max_attempts": transform.max_attempts,
    "max_ingestion_time": transform.max_ingestion_time,
}, default=str))
"""


def test_bundle_syncs_to_s3_and_every_dag_imports_from_it_alone(tmp_path, aws_endpoint):
    bundle = tmp_path / "bundle"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_mwaa_bundle.py"), "--out", str(bundle)],
        check=True,
        capture_output=True,
    )
    bucket = "mwaa-bundle-test"
    s3 = create_bucket(aws_endpoint, bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    uploaded = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())
    for key in uploaded:
        s3.upload_file(str(bundle / key), bucket, key)

    download = tmp_path / "mwaa"
    listed = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    ]
    assert sorted(listed) == uploaded
    for key in listed:
        target = download / key
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(target))
    assert (download / "requirements.txt").read_text() == (REPO / "requirements.txt").read_text()
    assert "LLMOPS_PROFILE=aws" in (download / "startup.sh").read_text()

    dags_folder = download / "dags"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    assert (dags_folder / "BUILD_COMMIT").read_text().strip() == head.stdout.strip()
    env = {
        **os.environ,
        **AWS_PROFILE_ENV,
        "LLMOPS_HOME": str(dags_folder),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
    }
    env.pop("PYTHONPATH", None)
    env.pop("LLMOPS_DATA_DIR", None)
    completed = subprocess.run(
        [sys.executable, "-c", PARSE_FROM_BUNDLE, str(dags_folder)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    assert report["errors"] == {}
    expected_dags = sorted(p.stem for p in (REPO / "dags").glob("*.py"))
    assert report["dags"] == expected_dags
    assert report["common_file"].startswith(str(dags_folder))
    assert report["pipelines_file"].startswith(str(dags_folder))
    # The sample tooling (generator, local-model builders) is not deployed: no DAG or step needs it.
    folders = {p.name for p in dags_folder.iterdir() if p.is_dir()}
    assert folders == {"common", "pipelines", "config", "prompts"}
    assert not [p for p in dags_folder.rglob("*") if p.name in {"sample_source", "local_models"}]

    # Under the aws profile the heavy steps are deferrable SageMaker Processing jobs with sane limits.
    ingestion = report["tasks"]["review_ingestion"]
    for step in ("transform", "validate", "publish"):
        assert ingestion[step] == "StepProcessingOperator"
    assert ingestion["extract"] != "StepProcessingOperator"
    config = report["transform_config"]
    assert report["deferrable"] is True
    assert (
        report["check_interval"] * report["max_attempts"]
        >= config["StoppingCondition"]["MaxRuntimeInSeconds"]
    )
    assert report["max_ingestion_time"] == config["StoppingCondition"]["MaxRuntimeInSeconds"]
    assert config["AppSpecification"]["ImageUri"] == AWS_PROFILE_ENV["LLMOPS_TASK_IMAGE_URI"]
    assert config["AppSpecification"]["ContainerEntrypoint"] == [
        "python",
        "-m",
        "pipelines.ingestion.transform",
    ]
    args = config["AppSpecification"]["ContainerArguments"]
    assert args[0::2] == ["--raw-uri", "--output-uri", "--result-uri"]
    assert config["RoleArn"] == AWS_PROFILE_ENV["LLMOPS_SAGEMAKER_ROLE_ARN"]
    assert config["Environment"]["LLMOPS_PROFILE"] == "aws"
    assert config["Environment"]["LLMOPS_LAKE_BUCKET"] == AWS_PROFILE_ENV["LLMOPS_LAKE_BUCKET"]
