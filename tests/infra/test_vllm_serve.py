"""docker/vllm/serve.py: what the vLLM image does before the server starts, against moto's in-process
S3 (no network): fetch the base model and the adapter versions the serving manifests name, then build
the `vllm serve` line."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.infra.tf import REPO

_spec = importlib.util.spec_from_file_location("serve", REPO / "docker" / "vllm" / "serve.py")
assert _spec and _spec.loader
serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve)

BUCKET = "models-example"


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def _put(client: Any, key: str, body: bytes = b"x") -> None:
    client.put_object(Bucket=BUCKET, Key=key, Body=body)


def _export(client: Any, alias: str, version: int, files: dict[str, bytes]) -> None:
    """An alias's serving folder as the registry export leaves it: the version's files, then the manifest."""
    for name, body in files.items():
        _put(client, f"serving/{alias}/v{version}/{name}", body)
    manifest = {"alias": alias, "version": str(version), "files": sorted(files)}
    _put(client, f"serving/{alias}/serving.json", json.dumps(manifest).encode())


def test_parse_adapters() -> None:
    spec = f"champion=s3://{BUCKET}/serving/champion/, challenger=s3://{BUCKET}/serving/challenger"
    assert serve.parse_adapters(spec) == {
        "champion": f"s3://{BUCKET}/serving/champion/",
        "challenger": f"s3://{BUCKET}/serving/challenger",
    }
    assert serve.parse_adapters("") == {}
    for bad in ("champion", "=s3://b/p/", "a=s3://b/p/,a=s3://b/q/", "a=/local/path"):
        with pytest.raises(ValueError):
            serve.parse_adapters(bad)


def test_download_keeps_layout_and_ignores_sibling_prefixes(s3: Any, tmp_path: Path) -> None:
    _put(s3, "serving/champion/adapter_config.json", b"{}")
    _put(s3, "serving/champion/weights/adapter_model.safetensors", b"w" * 10)
    _put(s3, "serving/champion/")  # a "folder" marker
    _put(s3, "serving/champion-old/adapter_config.json", b"old")

    count = serve.download_prefix(s3, f"s3://{BUCKET}/serving/champion", tmp_path)

    assert count == 2
    assert (tmp_path / "adapter_config.json").read_bytes() == b"{}"
    assert (tmp_path / "weights" / "adapter_model.safetensors").read_bytes() == b"w" * 10
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "adapter_config.json",
        "weights/adapter_model.safetensors",
    ]


def test_download_refuses_keys_that_escape_the_folder(s3: Any, tmp_path: Path) -> None:
    _put(s3, "serving/champion/../../etc/passwd")
    with pytest.raises(ValueError, match="escapes"):
        serve.download_prefix(s3, f"s3://{BUCKET}/serving/champion/", tmp_path / "champion")


def test_only_the_version_the_manifest_names_is_fetched(s3: Any, tmp_path: Path) -> None:
    _export(s3, "champion", 3, {"adapter_config.json": b"{}", "adapter_model.safetensors": b"w3"})
    _put(s3, "serving/champion/v4/adapter_model.safetensors", b"w4")  # an export under way: no manifest yet
    _put(s3, "serving/champion/v2/adapter_model.safetensors", b"w2")  # superseded, not yet pruned

    path = serve.fetch_adapter(s3, "champion", f"s3://{BUCKET}/serving/champion/", tmp_path)

    assert path == tmp_path / "champion" / "v3"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "champion/v3/adapter_config.json",
        "champion/v3/adapter_model.safetensors",
    ]
    assert (path / "adapter_model.safetensors").read_bytes() == b"w3"


def test_an_alias_without_a_manifest_is_not_fetched(s3: Any, tmp_path: Path) -> None:
    _put(s3, "serving/challenger/v1/adapter_model.safetensors", b"w1")  # an interrupted first export
    assert serve.fetch_adapter(s3, "challenger", f"s3://{BUCKET}/serving/challenger/", tmp_path) is None
    assert not any(tmp_path.iterdir())


def test_a_manifest_whose_files_are_gone_is_an_error(s3: Any, tmp_path: Path) -> None:
    _export(s3, "champion", 3, {"adapter_config.json": b"{}", "adapter_model.safetensors": b"w3"})
    s3.delete_object(Bucket=BUCKET, Key="serving/champion/v3/adapter_model.safetensors")
    with pytest.raises(FileNotFoundError, match="manifest"):
        serve.fetch_adapter(s3, "champion", f"s3://{BUCKET}/serving/champion/", tmp_path)
    _put(s3, "serving/champion/serving.json", json.dumps({"version": "../base"}).encode())
    with pytest.raises(ValueError, match="version"):
        serve.fetch_adapter(s3, "champion", f"s3://{BUCKET}/serving/champion/", tmp_path)


def test_prepare_serves_the_model_with_the_adapters_that_exist(s3: Any, tmp_path: Path) -> None:
    _put(s3, "base-models/tiny/config.json", b"{}")
    _export(s3, "champion", 7, {"adapter_config.json": b"{}"})
    _put(s3, "serving/challenger/v1/adapter_config.json", b"{}")  # no manifest: not exported
    env = {
        "MODEL_URI": f"s3://{BUCKET}/base-models/tiny/",
        "SERVED_MODEL_NAME": "tiny",
        "ADAPTER_URIS": f"champion=s3://{BUCKET}/serving/champion/,challenger=s3://{BUCKET}/serving/challenger/",
        "MODEL_DIR": str(tmp_path),
    }

    argv = serve.prepare(s3, env, ["--max-model-len", "4096"])

    assert argv[:3] == ["vllm", "serve", str(tmp_path / "base")]
    assert (tmp_path / "base" / "config.json").exists()
    assert "--enable-lora" in argv
    lora = argv.index("--lora-modules")
    assert argv[lora + 1 : lora + 2] == [f"champion={tmp_path / 'adapters' / 'champion' / 'v7'}"]
    assert (tmp_path / "adapters" / "champion" / "v7" / "adapter_config.json").exists()
    assert not any("challenger" in a for a in argv)  # not exported: not served
    assert argv[argv.index("--served-model-name") + 1] == "tiny"
    assert argv[argv.index("--port") + 1] == "8000"
    assert argv[-2:] == ["--max-model-len", "4096"]


def test_prepare_without_adapters_still_enables_runtime_lora(s3: Any, tmp_path: Path) -> None:
    _put(s3, "base-models/tiny/config.json", b"{}")
    env = {
        "MODEL_URI": f"s3://{BUCKET}/base-models/tiny/",
        "SERVED_MODEL_NAME": "tiny",
        "MODEL_DIR": str(tmp_path),
    }
    argv = serve.prepare(s3, env, [])
    assert "--enable-lora" in argv and "--lora-modules" not in argv


def test_prepare_fails_without_a_base_model(s3: Any, tmp_path: Path) -> None:
    env = {
        "MODEL_URI": f"s3://{BUCKET}/base-models/missing/",
        "SERVED_MODEL_NAME": "x",
        "MODEL_DIR": str(tmp_path),
    }
    with pytest.raises(FileNotFoundError, match="no model files"):
        serve.prepare(s3, env, [])
    with pytest.raises(ValueError, match="MODEL_URI"):
        serve.prepare(s3, {"MODEL_DIR": str(tmp_path)}, [])
