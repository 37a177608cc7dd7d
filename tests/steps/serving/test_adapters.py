"""The served adapters follow the registry's aliases: export layout, idempotence, moves and withdrawals
at a local folder and in S3 (moto's server), and bringing a running server in line.

The registry is a real MLflow registry (SQLite, as the local profile runs it) holding two versions of
the summarizer whose `adapter` artifact is a small folder of files; the other artifacts a version
bundles are there too, so that exporting only the adapter is checked. Runtime loading is checked
against a loopback stand-in of vLLM's LoRA endpoints (tests/steps/serving/lora_stand_in.py), which
covers the decision logic only; the real server is tested separately.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.pyfunc import PythonModel

from common import storage
from common.serving import adapters
from common.serving.adapters import (
    AdapterServerError,
    RuntimeLoadingUnavailable,
    ServerAddress,
    export_alias,
    export_aliases,
    move_alias,
    sync_server,
)
from common.settings import Settings, get_settings
from tests.aws_server import create_bucket
from tests.conftest import REPO
from tests.steps.serving.lora_stand_in import lora_stand_in

ADAPTER_FILES = {
    "1": {"adapter_config.json": b'{"r": 4}', "adapter_model.safetensors": b"weights-1"},
    "2": {
        "adapter_config.json": b'{"r": 8}',
        "adapter_model.safetensors": b"weights-2",
        "tokenizer/tokenizer.json": b"{}",
    },
}
BUCKET = "models-test"


class Summarizer(PythonModel):
    """Stands for the registered summarizer: exporting reads its artifacts, never runs it."""

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        return model_input


def _tags(version: str) -> dict[str, str]:
    return {
        "llmops.content_sha256": f"{version * 64}"[:64],
        "llmops.prompt.sha256": "p" * 64,
        "llmops.prompt.version": "3",
        "llmops.base_model_id": "local/tiny-llama-seed0",
    }


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data folder whose registry holds versions 1 and 2, each with its own adapter folder."""
    import mlflow.pyfunc

    from common.tracking import experiment_id, mlflow_for

    root = tmp_path_factory.mktemp("serving-registry")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LLMOPS_DATA_DIR", str(root / "data"))
        get_settings.cache_clear()
        settings = get_settings()
        mlflow = mlflow_for(settings)
        prompt = root / "prompt.yaml"
        prompt.write_text("name: test\n", encoding="utf-8")
        for version, files in ADAPTER_FILES.items():
            folder = root / f"trained-{version}" / "model"
            for name, body in files.items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_bytes(body)
            with mlflow.start_run(experiment_id=experiment_id(settings, "finetuning")):
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=Summarizer(),
                    artifacts={"adapter": str(folder), "prompt": str(prompt)},
                    pip_requirements=[],
                )
                created = mlflow.register_model(
                    info.model_uri, settings.registry.model_name, tags=_tags(version)
                )
            assert str(created.version) == version
        yield root / "data"
    get_settings.cache_clear()


@pytest.fixture
def settings(registry: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The module's registry with no alias set, and a serving location of the test's own."""
    from mlflow import MlflowClient

    monkeypatch.setenv("LLMOPS_DATA_DIR", str(registry))
    monkeypatch.setenv("LLMOPS_SERVING__ADAPTERS_URI", str(tmp_path / "serving"))
    get_settings.cache_clear()
    settings = get_settings()
    client = MlflowClient(tracking_uri=settings.tracking.uri)
    name = settings.registry.model_name
    for alias in client.get_registered_model(name).aliases:
        client.delete_registered_model_alias(name, alias)
    yield settings
    get_settings.cache_clear()


def set_alias(settings: Settings, alias: str, version: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    client.set_registered_model_alias(settings.registry.model_name, alias, version)


def delete_alias(settings: Settings, alias: str) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    client.delete_registered_model_alias(settings.registry.model_name, alias)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones included) by relative path."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def manifest_files(files: dict[str, bytes], version: str) -> dict[str, bytes]:
    return {f"v{version}/{name}": body for name, body in files.items()}


# --- a local serving location ---------------------------------------------------------------------


def test_an_alias_is_exported_as_its_version_folder_and_a_manifest(settings: Settings) -> None:
    set_alias(settings, "champion", "2")

    exported = export_alias(settings, "champion")

    folder = Path(settings.serving.adapters_uri) / "champion"
    assert exported is not None and exported.copied and exported.version == "2"
    assert exported.local_path == (folder / "v2").resolve()
    files = tree(folder)
    manifest = json.loads(files.pop("serving.json"))
    # Only the adapter: none of the version's other artifacts (MLmodel, the pickled model, the prompt).
    assert files == manifest_files(ADAPTER_FILES["2"], "2")
    assert {key: manifest[key] for key in ("model_name", "alias", "version", "files")} == {
        "model_name": settings.registry.model_name,
        "alias": "champion",
        "version": "2",
        "files": sorted(ADAPTER_FILES["2"]),
    }
    tags = _tags("2")
    assert manifest["content_sha256"] == tags["llmops.content_sha256"]
    assert (manifest["prompt_sha256"], manifest["prompt_version"]) == ("p" * 64, "3")
    assert manifest["base_model_id"] == "local/tiny-llama-seed0"
    assert manifest["exported_at"]
    assert exported.manifest == manifest


def test_exporting_again_copies_nothing(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    set_alias(settings, "champion", "1")
    export_alias(settings, "champion")
    folder = Path(settings.serving.adapters_uri) / "champion"
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    downloads: list[str] = []
    real = adapters._download_adapter

    def counted(client: Any, name: str, version: str, workdir: Path) -> Path:
        downloads.append(version)
        return real(client, name, version, workdir)

    monkeypatch.setattr(adapters, "_download_adapter", counted)

    again = export_alias(settings, "champion")

    assert again is not None and not again.copied and again.version == "1"
    assert downloads == []
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == before

    # A file gone from the exported folder is noticed: the version is copied again, whole.
    (folder / "v1" / "adapter_model.safetensors").unlink()
    repaired = export_alias(settings, "champion")
    assert repaired is not None and repaired.copied and len(downloads) == 1
    assert tree(folder / "v1") == ADAPTER_FILES["1"]


def test_moving_an_alias_replaces_the_version_and_prunes_the_old_one(settings: Settings) -> None:
    from mlflow import MlflowClient

    set_alias(settings, "challenger", "1")
    export_alias(settings, "challenger")

    moved = move_alias(settings, "challenger", 2)

    client = MlflowClient(tracking_uri=settings.tracking.uri)
    assert str(client.get_model_version_by_alias(settings.registry.model_name, "challenger").version) == "2"
    assert moved.copied and moved.version == "2"
    folder = Path(settings.serving.adapters_uri) / "challenger"
    files = tree(folder)
    assert json.loads(files.pop("serving.json"))["version"] == "2"
    assert files == manifest_files(ADAPTER_FILES["2"], "2")  # v1 pruned, no staging folder left


def test_an_interrupted_export_leaves_the_previous_one_whole(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_alias(settings, "champion", "1")
    export_alias(settings, "champion")
    folder = Path(settings.serving.adapters_uri) / "champion"
    before = tree(folder)
    set_alias(settings, "champion", "2")

    def dies(*args: Any) -> None:
        raise ConnectionError("the artifact store went away")

    with monkeypatch.context() as patch:
        patch.setattr(adapters, "_download_adapter", dies)
        with pytest.raises(ConnectionError):
            export_alias(settings, "champion")
    assert tree(folder) == before

    with monkeypatch.context() as patch:  # the manifest is the last thing written
        patch.setattr(adapters, "_write_manifest", dies)
        with pytest.raises(ConnectionError):
            export_alias(settings, "champion")
    assert json.loads(tree(folder)["serving.json"])["version"] == "1"
    assert tree(folder / "v1") == ADAPTER_FILES["1"]

    exported = export_alias(settings, "champion")
    assert exported is not None and exported.version == "2"
    assert set(tree(folder)) == {"serving.json", *manifest_files(ADAPTER_FILES["2"], "2")}


def test_a_deleted_alias_is_withdrawn(settings: Settings) -> None:
    set_alias(settings, "champion", "1")
    set_alias(settings, "candidate", "2")
    assert export_aliases(settings) == {
        "champion": (Path(settings.serving.adapters_uri) / "champion" / "v1").resolve(),
        "candidate": (Path(settings.serving.adapters_uri) / "candidate" / "v2").resolve(),
    }

    delete_alias(settings, "candidate")

    assert export_alias(settings, "candidate") is None
    assert not (Path(settings.serving.adapters_uri) / "candidate").exists()
    assert set(export_aliases(settings)) == {"champion"}
    assert adapters.read_manifest(settings, "candidate") is None


# --- the aws layout, in moto's S3 ---------------------------------------------------------------------


def _start_script() -> Any:
    """docker/vllm/serve.py, the vLLM image's start script (it has no project imports)."""
    spec = importlib.util.spec_from_file_location("vllm_serve", REPO / "docker" / "vllm" / "serve.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_s3_serving_location_is_what_the_vllm_image_loads(
    settings: Settings, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    s3 = create_bucket(aws_endpoint, BUCKET)
    monkeypatch.setenv("LLMOPS_SERVING__ADAPTERS_URI", f"s3://{BUCKET}/serving")
    get_settings.cache_clear()
    in_aws = get_settings()
    serve = _start_script()
    champion_uri = f"s3://{BUCKET}/serving/champion/"  # what Terraform gives the pods (ADAPTER_URIS)

    def keys() -> dict[str, Any]:
        listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="serving/").get("Contents", [])
        return {item["Key"]: item["ETag"] for item in listing}

    def exported_keys(version: str) -> set[str]:
        files = manifest_files(ADAPTER_FILES[version], version)
        return {"serving/champion/serving.json"} | {f"serving/champion/{key}" for key in files}

    set_alias(in_aws, "champion", "1")
    exported = export_alias(in_aws, "champion")
    assert exported is not None and exported.uri == f"s3://{BUCKET}/serving/champion/v1"
    assert set(keys()) == exported_keys("1")

    before = keys()
    with monkeypatch.context() as patch:
        uploads: list[str] = []
        patch.setattr(storage, "upload_dir", lambda *a: uploads.append(a[1]))
        again = export_alias(in_aws, "champion")
    assert again is not None and not again.copied and uploads == [] and keys() == before

    # What an EKS pod does when it starts: fetch only the version the manifest names.
    fetched = serve.fetch_adapter(s3, "champion", champion_uri, tmp_path / "pod1")
    assert fetched == tmp_path / "pod1" / "champion" / "v1"
    assert tree(fetched) == ADAPTER_FILES["1"]
    assert serve.fetch_adapter(s3, "challenger", f"s3://{BUCKET}/serving/challenger/", tmp_path) is None

    moved = move_alias(in_aws, "champion", "2")
    assert moved.copied and set(keys()) == exported_keys("2")
    assert tree(serve.fetch_adapter(s3, "champion", champion_uri, tmp_path / "pod2")) == ADAPTER_FILES["2"]

    delete_alias(in_aws, "champion")
    assert export_alias(in_aws, "champion") is None
    assert keys() == {}
    assert serve.fetch_adapter(s3, "champion", champion_uri, tmp_path / "pod3") is None

    # A pod cannot load s3:// paths at runtime: a move that asks to sync one says so before moving.
    with pytest.raises(RuntimeLoadingUnavailable):
        move_alias(in_aws, "champion", "2", server=ServerAddress("http://127.0.0.1:9", "k"))
    assert adapters.read_manifest(in_aws, "champion") is None


# --- runtime loading (decision logic, against the stand-in) -----------------------------------------


@pytest.fixture
def stand_in() -> Iterator[tuple[str, Any]]:
    with lora_stand_in(api_key="test-key") as server:
        yield server


def test_sync_loads_reloads_and_unloads_only_what_changed(stand_in: tuple[str, Any], tmp_path: Path) -> None:
    url, state = stand_in
    for name in ("a1", "a2", "b1", "other"):
        (tmp_path / name).mkdir()
    state.adapters.update(
        {
            "champion": str(tmp_path / "a1"),
            "challenger": str(tmp_path / "b1"),
            "manual": str(tmp_path / "other"),
        }
    )
    wanted = {"champion": str(tmp_path / "a2"), "candidate": str(tmp_path / "b1")}

    result = sync_server(
        url, "test-key", wanted, managed=["champion", "challenger", "candidate"], timeout_s=5
    )

    assert (result.loaded, result.unloaded, result.unchanged) == (
        ["champion", "candidate"],
        ["challenger"],
        [],
    )
    assert state.adapters == {**wanted, "manual": str(tmp_path / "other")}  # an unmanaged adapter stays
    assert state.calls == [
        ("/v1/unload_lora_adapter", "champion"),
        ("/v1/load_lora_adapter", "champion"),
        ("/v1/load_lora_adapter", "candidate"),
        ("/v1/unload_lora_adapter", "challenger"),
    ]

    state.calls.clear()
    again = sync_server(url, "test-key", wanted, managed=["champion", "challenger", "candidate"], timeout_s=5)
    assert (again.loaded, again.unloaded, sorted(again.unchanged)) == ([], [], ["candidate", "champion"])
    assert state.calls == []

    # Without `managed`, every served adapter that is not wanted goes.
    sync_server(url, "test-key", {}, timeout_s=5)
    assert state.adapters == {}


def test_sync_failures_carry_the_servers_message(stand_in: tuple[str, Any], tmp_path: Path) -> None:
    url, state = stand_in
    with pytest.raises(AdapterServerError) as refused:
        sync_server(url, "test-key", {"champion": str(tmp_path / "missing")}, timeout_s=5)
    assert refused.value.status_code == 400
    assert "No adapter found" in refused.value.message and "champion" in str(refused.value)
    assert state.adapters == {}

    with pytest.raises(AdapterServerError) as unauthorized:
        sync_server(url, "wrong-key", {}, timeout_s=5)
    assert (unauthorized.value.status_code, unauthorized.value.message) == (401, "Unauthorized")


def test_move_alias_brings_a_running_server_in_line(stand_in: tuple[str, Any], settings: Settings) -> None:
    url, state = stand_in
    set_alias(settings, "champion", "1")
    served = export_aliases(settings)
    state.adapters.update({alias: str(path) for alias, path in served.items()})  # as started
    state.adapters["candidate"] = "/models/gone"  # an alias withdrawn while the server ran

    move_alias(settings, "challenger", "2", server=ServerAddress(url, "test-key"))

    root = Path(settings.serving.adapters_uri).resolve()
    assert state.adapters == {
        "champion": str(root / "champion" / "v1"),
        "challenger": str(root / "challenger" / "v2"),
    }
    assert ("/v1/load_lora_adapter", "champion") not in state.calls  # unchanged: left alone

    move_alias(settings, "champion", "2", server=ServerAddress(url, "test-key"))
    assert state.adapters["champion"] == str(root / "champion" / "v2")
    assert not (root / "champion" / "v1").exists()
