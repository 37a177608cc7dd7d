"""Parse one DAG file the way the DAG processor does, in a fresh interpreter, and report what it cost.

Run as `python dag_probe.py <dag file>`; prints JSON. Airflow itself is imported before the clock starts,
since it is loaded once per DAG-processor process, not per file. Variable and Connection lookups are
trapped: a DAG file must not make them at parse time (MWAA parses every file every 30 s).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time

import airflow
import airflow.sdk
from airflow.sdk import DAG, Asset, Param, task  # noqa: F401

HEAVY = (
    "torch",
    "transformers",
    "presidio_analyzer",
    "presidio_anonymizer",
    "detoxify",
    "great_expectations",
    "mlflow",
    "ragas",
    "giskard",
    "sentence_transformers",
    "peft",
    "trl",
    "spacy",
    "dvc",
    "datasketch",
)
lookups: list[str] = []


def _trap(kind: str):
    def trapped(*args, **kwargs):
        lookups.append(f"{kind}{args[:1]}")
        raise RuntimeError(f"{kind} lookup at parse time")

    return trapped


airflow.sdk.Variable.get = staticmethod(_trap("Variable.get"))
airflow.sdk.Connection.get = staticmethod(_trap("Connection.get"))
from airflow.sdk.bases.hook import BaseHook  # noqa: E402

BaseHook.get_connection = classmethod(_trap("BaseHook.get_connection"))

path = sys.argv[1]
before = set(sys.modules)
started = time.perf_counter()
error = None
try:
    spec = importlib.util.spec_from_file_location("probed_dag", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
except Exception as exc:  # reported, not raised: the test asserts on it
    error = f"{type(exc).__name__}: {exc}"
    module = None
elapsed_ms = (time.perf_counter() - started) * 1000
loaded = sorted(set(sys.modules) - before)
dags = [v.dag_id for v in vars(module).values() if isinstance(v, DAG)] if module else []
print(
    json.dumps(
        {
            "file": path,
            "parse_ms": elapsed_ms,
            "error": error,
            "heavy_modules": sorted({m.split(".")[0] for m in loaded if m.split(".")[0] in HEAVY}),
            "lookups": lookups,
            "dag_ids": dags,
        }
    )
)
