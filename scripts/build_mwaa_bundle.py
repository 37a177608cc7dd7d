"""Build exactly what CI syncs to the MWAA environment's bucket.

Layout (MWAA puts the `dags/` prefix on sys.path, so the project's packages ride along in it):

    <out>/dags/<dag files>.py
    <out>/dags/common/, <out>/dags/pipelines/     the project's code, importable as on a laptop (not the
                                                  sample tooling: src/sample_source, src/local_models)
    <out>/dags/config/                            profiles and thresholds the settings read
    <out>/dags/prompts/                           the versioned prompt files (common.prompts)
    <out>/dags/BUILD_COMMIT                       the git commit the bundle was built from (run lineage)
    <out>/dags/.airflowignore                     keeps the DAG processor out of the code folders
    <out>/requirements.txt                        what MWAA pip-installs under its constraints
    <out>/startup.sh                              selects the `aws` profile on every MWAA container

Usage: python scripts/build_mwaa_bundle.py [--out build/mwaa]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
# The packages the DAGs and steps import. The sample generator and the local-model builders make the
# local profile's data and models; nothing on MWAA imports them, so they are not shipped.
PACKAGES = ("common", "pipelines")
STARTUP = """#!/bin/sh
# MWAA runs this on every scheduler, worker and web server container before Airflow starts.
# The aws profile also reads resource names (LLMOPS_LAKE_BUCKET, LLMOPS_TASK_IMAGE_URI, ...):
# the deployment appends their exports for the target environment below; none are hard-coded here.
export LLMOPS_PROFILE=aws
export LLMOPS_HOME=/usr/local/airflow/dags
"""


def build(out: Path) -> Path:
    if out.exists():
        shutil.rmtree(out)
    dags = out / "dags"
    shutil.copytree(REPO / "dags", dags, ignore=IGNORE)
    for package in PACKAGES:
        shutil.copytree(REPO / "src" / package, dags / package, ignore=IGNORE)
    shutil.copytree(REPO / "config", dags / "config", ignore=IGNORE)
    shutil.copytree(REPO / "prompts", dags / "prompts", ignore=IGNORE)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if commit.returncode == 0:
        (dags / "BUILD_COMMIT").write_text(commit.stdout.strip() + "\n", encoding="utf-8")
    (dags / ".airflowignore").write_text("common/\npipelines/\nconfig/\nprompts/\n", encoding="utf-8")
    shutil.copy2(REPO / "requirements.txt", out / "requirements.txt")
    (out / "startup.sh").write_text(STARTUP, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "mwaa")
    args = parser.parse_args()
    out = build(args.out)
    files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    print(f"MWAA bundle: {out} ({len(files)} files)")


if __name__ == "__main__":
    main()
