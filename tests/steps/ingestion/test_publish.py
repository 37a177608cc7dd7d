"""Publishing: DVC versions of the staged clean partitions, then an atomic, idempotent commit of both sides
into the lake; quarantine is never versioned."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common import storage
from common.data_versioning import DataRegistry
from common.ids import stable_hash
from common.schemas import CLEAN_REVIEW, QUARANTINE_REVIEW
from common.settings import get_settings
from common.step_entrypoint import EXIT_OK, EXIT_QUALITY_GATE
from pipelines.ingestion import publish
from tests.aws_server import create_bucket

DAY1, DAY2 = "2026-11-17", "2026-11-18"


def clean_row(review_id: str, dt: str) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "product_id": "p1",
        "star_rating": 4,
        "cleaned_text": f"Good kettle, review {review_id}.",
        "language": "en",
        "toxicity_score": 0.02,
        "created_at": datetime.fromisoformat(dt).replace(hour=9, tzinfo=UTC),
        "helpful_votes": 1,
        "verified_purchase": True,
        "content_hash": review_id * 4,
        "pii_entities": [],
    }


def quarantine_row(review_id: str, dt: str) -> dict[str, Any]:
    return {
        "review_id": review_id,
        "product_id": "p1",
        "reason": "spam",
        "detail": "matched a spam pattern",
        "star_rating": "5",
        "redacted_text": "BUY NOW, mail <EMAIL_ADDRESS>",
        "raw_text_hmac": stable_hash(review_id, length=64),
        "raw_text_chars": 29,
        "text_type": "str",
        "language": None,
        "pii_entities": ["EMAIL_ADDRESS"],
        "created_at": datetime.fromisoformat(dt).replace(hour=10, tzinfo=UTC),
        "helpful_votes": 0,
        "verified_purchase": False,
    }


def stage(root: Path, clean: dict[str, list[str]], quarantine: dict[str, list[str]]) -> tuple[str, dict]:
    """A staged run as the transform writes it (a side with no rows that day has no folder), and the
    transform's result."""
    for kind, days, make, schema in (
        ("clean", clean, clean_row, CLEAN_REVIEW),
        ("quarantine", quarantine, quarantine_row, QUARANTINE_REVIEW),
    ):
        for dt, ids in days.items():
            if ids:
                folder = root / kind / f"dt={dt}"
                folder.mkdir(parents=True)
                table = pa.Table.from_pylist([make(i, dt) for i in ids], schema=schema)
                pq.write_table(table, folder / "part-00000.parquet")
    n_clean = sum(len(v) for v in clean.values())
    n_quarantine = sum(len(v) for v in quarantine.values())
    days = sorted(set(clean) | set(quarantine))
    result = {
        "input_count": n_clean + n_quarantine,
        "clean_count": n_clean,
        "quarantine_count": n_quarantine,
        "partitions": {
            d: {"clean": len(clean.get(d, [])), "quarantine": len(quarantine.get(d, []))} for d in days
        },
    }
    return root.as_uri(), result


def passed_validation(staged_uri: str) -> dict[str, Any]:
    return {"status": "succeeded", "success": True, "staged_uri": staged_uri, "failed_expectations": []}


@pytest.fixture
def registry(tmp_path: Path) -> DataRegistry:
    return DataRegistry(
        str(tmp_path / "dvc" / "registry.git"),
        str(tmp_path / "dvc" / "remote"),
        "t",
        "t@localhost",
        allow_create=True,
    )


def lake_ids(lake: Path, kind: str) -> list[str]:
    root = lake / kind / "reviews"
    if not root.exists():
        return []
    return sorted(
        r for part in root.glob("dt=*") for r in pq.read_table(part).column("review_id").to_pylist()
    )


def git(bare: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(bare), *args], check=True, capture_output=True, text=True
    ).stdout


CLEAN = {DAY1: ["a", "b", "c"], DAY2: ["d", "e"]}
QUARANTINE = {DAY1: ["q1"]}  # nothing quarantined on DAY2


def test_a_staged_run_lands_in_the_lake_with_manifests_and_dvc_versions(
    tmp_path: Path, registry: DataRegistry
):
    staged_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    lake = tmp_path / "lake"
    result = publish.publish(staged_uri, transform_result, lake.as_uri(), "run-1", registry)

    assert [p["dt"] for p in result["partitions"]] == [DAY1, DAY2]
    assert [(p["clean_count"], p["quarantine_count"]) for p in result["partitions"]] == [(3, 1), (2, 0)]
    assert result["totals"] == {"partitions": 2, "clean_count": 5, "quarantine_count": 1}
    assert result["partitions"][0]["clean_uri"] == f"{lake.as_uri()}/clean/reviews/dt={DAY1}"
    assert result["partitions"][1]["quarantine_uri"] == f"{lake.as_uri()}/quarantine/reviews/dt={DAY2}"
    assert lake_ids(lake, "clean") == ["a", "b", "c", "d", "e"]
    assert lake_ids(lake, "quarantine") == ["q1"]
    empty = pq.read_table(lake / "quarantine" / "reviews" / f"dt={DAY2}")
    assert empty.num_rows == 0 and empty.schema.equals(QUARANTINE_REVIEW)

    dvc = result["dvc"]
    assert sorted(dvc["paths"]) == [f"reviews/clean/dt={d}" for d in (DAY1, DAY2)]
    assert dvc["tag"].startswith(f"reviews/dt={DAY1}_{DAY2}/")
    bare = tmp_path / "dvc" / "registry.git"
    assert git(bare, "rev-parse", f"{dvc['tag']}^{{commit}}").strip() == dvc["rev"]
    # Quarantine is a review queue that expires: nothing of it is in the registry, which never forgets.
    tracked = git(bare, "ls-tree", "-r", "--name-only", dvc["rev"]).split()
    assert any(p.startswith("reviews/clean/") for p in tracked)
    assert not [p for p in tracked if "quarantine" in p]

    for partition in result["partitions"]:
        for kind in ("clean", "quarantine"):
            uri = partition[f"{kind}_uri"]
            manifest = storage.read_json(storage.join(uri, storage.MANIFEST))
            assert manifest["row_count"] == partition[f"{kind}_count"]
            assert manifest["run_id"] == "run-1" and manifest["dt"] == partition["dt"]
            assert manifest["schema_version"] == publish.schema_version(publish.SCHEMAS[kind][1])
            assert manifest["files"] == ["part-00000.parquet"]
            if kind == "quarantine":
                assert manifest["dvc"] is None
                continue
            assert manifest["dvc"]["rev"] == dvc["rev"] and manifest["dvc"]["tag"] == dvc["tag"]
            assert manifest["dvc"]["path"] == f"reviews/{kind}/dt={partition['dt']}"
            # The lake holds exactly the bytes DVC versioned.
            fetched = registry.fetch(
                manifest["dvc"]["path"], manifest["dvc"]["rev"], tmp_path / "f" / kind / uri[-13:]
            )
            lake_file = Path(storage.local_path(uri)) / "part-00000.parquet"
            assert (fetched / "part-00000.parquet").read_bytes() == lake_file.read_bytes()
    quarantined = pq.read_table(lake / "quarantine" / "reviews" / f"dt={DAY1}").to_pylist()
    assert [row["redacted_text"] for row in quarantined] == ["BUY NOW, mail <EMAIL_ADDRESS>"]

    assert storage.exists(staged_uri + f"/clean/dt={DAY1}/part-00000.parquet")  # copied, not moved
    assert not list(lake.rglob("_staging-*"))


def test_a_rerun_of_the_same_window_replaces_and_never_duplicates(tmp_path: Path, registry: DataRegistry):
    lake = tmp_path / "lake"
    staged_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    first = publish.publish(staged_uri, transform_result, lake.as_uri(), "run-1", registry)
    again = publish.publish(staged_uri, transform_result, lake.as_uri(), "run-2", registry)

    assert lake_ids(lake, "clean") == ["a", "b", "c", "d", "e"]
    assert again["dvc"] == first["dvc"]  # same content, same version: nothing new in the registry
    manifest = storage.read_json(storage.join(again["partitions"][0]["clean_uri"], storage.MANIFEST))
    assert manifest["run_id"] == "run-2"

    # The source was fixed: `e` is now quarantined on DAY2 and `b` is gone. Both sides are replaced.
    fixed_uri, fixed_result = stage(
        tmp_path / "fixed", {DAY1: ["a", "c"], DAY2: ["d"]}, {DAY1: ["q1"], DAY2: ["e"]}
    )
    third = publish.publish(fixed_uri, fixed_result, lake.as_uri(), "run-3", registry)
    assert lake_ids(lake, "clean") == ["a", "c", "d"]
    assert lake_ids(lake, "quarantine") == ["e", "q1"]
    assert third["dvc"]["rev"] != first["dvc"]["rev"]
    old = registry.fetch(f"reviews/clean/dt={DAY1}", first["dvc"]["rev"], tmp_path / "old")
    assert sorted(pq.read_table(old).column("review_id").to_pylist()) == ["a", "b", "c"]
    assert not list(lake.rglob("_staging-*"))


def cli(tmp_path: Path, staged_uri: str, transform_result: dict, validation: dict | None) -> tuple[int, dict]:
    transform_uri = (tmp_path / "results" / "transform.json").as_uri()
    validation_uri = (tmp_path / "results" / "validate.json").as_uri()
    result_uri = (tmp_path / "results" / "publish.json").as_uri()
    storage.write_json(transform_uri, transform_result)
    if validation is not None:
        storage.write_json(validation_uri, validation)
    code = publish.main(
        [
            "--staged-uri", staged_uri,
            "--validation-result-uri", validation_uri,
            "--transform-result-uri", transform_uri,
            "--lake-uri", (tmp_path / "lake").as_uri(),
            "--run-id", "manual__2026-11-19",
            "--result-uri", result_uri,
        ]
    )  # fmt: skip
    return code, storage.read_json(result_uri)


@pytest.fixture
def local_profile(tmp_path: Path, monkeypatch):
    """The step reads its registry from the settings: point the local profile's data folder here."""
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_the_step_publishes_and_writes_its_result(tmp_path: Path, local_profile):
    staged_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    code, written = cli(tmp_path, staged_uri, transform_result, passed_validation(staged_uri))

    assert code == EXIT_OK and written["status"] == "succeeded"
    assert [p["dt"] for p in written["partitions"]] == [DAY1, DAY2]
    assert written["dvc"]["registry_url"] == local_profile.dvc.registry_url
    assert written["totals"]["clean_count"] == 5
    assert lake_ids(tmp_path / "lake", "clean") == ["a", "b", "c", "d", "e"]
    tags = git(Path(local_profile.dvc.registry_url), "tag").split()
    assert written["dvc"]["tag"] in tags


def failed_validation(staged_uri: str) -> dict[str, Any]:
    return {
        "status": "quality_gate_failed",
        "success": False,
        "staged_uri": staged_uri,
        "failed_expectations": [
            {"suite": "run_summary", "expectation": "expect_column_values_to_be_between"}
        ],
    }


@pytest.mark.parametrize(
    "validation",
    [
        pytest.param(failed_validation, id="validation failed"),
        pytest.param(lambda uri: None, id="never validated"),
        pytest.param(lambda uri: passed_validation(uri + "-another-run"), id="validated another staged run"),
        pytest.param(lambda uri: {**passed_validation(uri), "status": "failed"}, id="validation crashed"),
    ],
)
def test_nothing_is_published_without_a_passing_validation(tmp_path: Path, local_profile, validation):
    staged_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    code, written = cli(tmp_path, staged_uri, transform_result, validation(staged_uri))

    assert code == EXIT_QUALITY_GATE
    assert written["status"] == "quality_gate_failed" and written["published"] is False
    assert not (tmp_path / "lake").exists()
    assert not Path(local_profile.dvc.registry_url).exists()


def test_staged_data_that_changed_after_validation_is_not_published(tmp_path: Path, local_profile):
    staged_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    extra = tmp_path / "staged" / "clean" / f"dt={DAY2}" / "part-00001.parquet"
    pq.write_table(pa.Table.from_pylist([clean_row("late", DAY2)], schema=CLEAN_REVIEW), extra)

    code, written = cli(tmp_path, staged_uri, transform_result, passed_validation(staged_uri))
    assert code == EXIT_QUALITY_GATE and "changed after validation" in written["error"]
    assert not (tmp_path / "lake").exists()


def test_staged_data_and_lake_on_s3(tmp_path: Path, registry: DataRegistry, aws_endpoint):
    s3 = create_bucket(aws_endpoint, "publish-test")
    local_uri, transform_result = stage(tmp_path / "staged", CLEAN, QUARANTINE)
    storage.upload_dir(storage.local_path(local_uri), "s3://publish-test/staging/run-1")

    result = publish.publish(
        "s3://publish-test/staging/run-1", transform_result, "s3://publish-test/lake", "run-1", registry
    )
    publish.publish(
        "s3://publish-test/staging/run-1", transform_result, "s3://publish-test/lake", "run-2", registry
    )

    assert result["partitions"][0]["clean_uri"] == f"s3://publish-test/lake/clean/reviews/dt={DAY1}"
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="publish-test", Prefix="lake/")["Contents"])
    # Each partition holds its manifest and the one version it names; run-1's version is gone.
    expected = []
    for kind in ("clean", "quarantine"):
        for dt in (DAY1, DAY2):
            partition = f"lake/{kind}/reviews/dt={dt}"
            (named,) = storage.read_json(f"s3://publish-test/{partition}/_manifest.json")["files"]
            assert named.startswith(storage.VERSION_PREFIX) and named.endswith("/part-00000.parquet")
            expected += [f"{partition}/_manifest.json", f"{partition}/{named}"]
    assert keys == sorted(expected)
    manifest = storage.read_json(f"s3://publish-test/lake/clean/reviews/dt={DAY2}/_manifest.json")
    assert manifest["row_count"] == 2 and manifest["run_id"] == "run-2"
