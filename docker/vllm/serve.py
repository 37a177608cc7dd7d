"""Start vLLM's OpenAI-compatible server on a base model and LoRA adapters fetched from S3.

The weights live in the models bucket, which the pod reads with its own IRSA role (read-only, limited to
the base-model and serving prefixes). vLLM loads LoRA adapters from local paths, so they are downloaded
before the server starts. Each adapter prefix is a registry alias's serving folder: `serving.json` (the
manifest, written last, names the version) and `v<version>/` (that version's adapter files). Only the
folder the manifest names is downloaded, to `<MODEL_DIR>/adapters/<name>/v<version>`, so `/v1/models`
shows which version each adapter is. A prefix without a manifest is skipped rather than fatal: a new
environment has no challenger yet, and serves the base model and champion alone. A manifest whose
files are not all there (an alias moved while the pod started) is an error: the pod restarts and reads
the new manifest. Runtime loading (`POST /v1/load_lora_adapter`, VLLM_ALLOW_RUNTIME_LORA_UPDATING) is
enabled, for adapters copied into the pod by other means.

Environment:
    MODEL_URI          s3://bucket/base-models/<name>/   the base model directory (required)
    SERVED_MODEL_NAME  the name requests use for the base model (required)
    ADAPTER_URIS       name=s3://...,name=s3://...        adapters served under their names (optional)
    MODEL_DIR          local folder for the downloads (default /models)
    VLLM_API_KEY       read by vLLM itself: protects the /v1 endpoints

Arguments are passed on to `vllm serve` unchanged (e.g. --max-model-len 4096).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

log = logging.getLogger("serve")

PORT = 8000
MANIFEST = "serving.json"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Bucket and key prefix of an s3:// URI; the prefix always ends with "/" so that a prefix never
    matches a sibling (adapters/champion must not match adapters/champion-old)."""
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    prefix = parsed.path.lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return parsed.netloc, prefix


def parse_adapters(spec: str) -> dict[str, str]:
    """`name=s3://...,name=s3://...` into {name: uri}, refusing duplicate or malformed entries."""
    adapters: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, sep, uri = item.partition("=")
        if not sep or not name or not uri:
            raise ValueError(f"adapter entry {item!r} is not name=s3://bucket/prefix/")
        if name in adapters:
            raise ValueError(f"adapter {name!r} is listed twice")
        parse_s3_uri(uri)
        adapters[name] = uri
    return adapters


def download_prefix(client: Any, uri: str, dest: Path, workers: int = 8) -> int:
    """Download every object under `uri` into `dest`, keeping relative paths; return the file count.

    Keys that would land outside `dest` (`..` segments) are refused: the bucket is trusted, but a
    path that escapes its folder is a bug worth failing on.
    """
    bucket, prefix = parse_s3_uri(uri)
    jobs: list[tuple[str, Path]] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            relative = PurePosixPath(key[len(prefix) :])
            if key.endswith("/") or not relative.parts:
                continue  # "folder" marker objects
            if ".." in relative.parts:
                raise ValueError(f"object key escapes its prefix: s3://{bucket}/{key}")
            jobs.append((key, dest.joinpath(*relative.parts)))
    for _, target in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda job: client.download_file(bucket, job[0], str(job[1])), jobs))
    return len(jobs)


def read_manifest(client: Any, uri: str) -> dict[str, Any] | None:
    """The adapter prefix's manifest, or None when it has none (the alias is not exported)."""
    bucket, prefix = parse_s3_uri(uri)
    try:
        body = client.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def fetch_adapter(client: Any, name: str, uri: str, root: Path) -> Path | None:
    """Download the version the prefix's manifest names; return its local folder, None without one."""
    manifest = read_manifest(client, uri)
    if manifest is None:
        return None
    version = str(manifest["version"])
    if not version.isdigit():
        raise ValueError(f"adapter {name}: the manifest at {uri} names version {version!r}")
    path = root / name / f"v{version}"
    source = uri.rstrip("/") + f"/v{version}/"
    count = download_prefix(client, source, path)
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    if count == 0 or files != sorted(manifest.get("files", files)):
        raise FileNotFoundError(f"adapter {name}: {source} does not hold the files its manifest names")
    log.info("fetched adapter %s version %s (%d files) from %s", name, version, count, source)
    return path


def serve_argv(model_dir: Path, served_name: str, adapters: dict[str, Path], extra: list[str]) -> list[str]:
    """The `vllm serve` command line: LoRA is always enabled so that adapters can be loaded at runtime
    even when none was present at start."""
    argv = [
        "vllm", "serve", str(model_dir),
        "--served-model-name", served_name,
        "--host", "0.0.0.0",
        "--port", str(PORT),
        "--enable-lora",
    ]  # fmt: skip
    if adapters:
        argv += ["--lora-modules", *(f"{name}={path}" for name, path in adapters.items())]
    return argv + extra


def prepare(client: Any, env: dict[str, str], extra: list[str]) -> list[str]:
    """Fetch model and adapters as the environment describes them; return the command to exec."""
    model_uri = env.get("MODEL_URI", "")
    served_name = env.get("SERVED_MODEL_NAME", "")
    if not model_uri or not served_name:
        raise ValueError("MODEL_URI and SERVED_MODEL_NAME must be set")
    root = Path(env.get("MODEL_DIR", "/models"))

    base = root / "base"
    count = download_prefix(client, model_uri, base)
    if count == 0:
        raise FileNotFoundError(f"no model files under {model_uri}")
    log.info("fetched %d base model files from %s", count, model_uri)

    adapters: dict[str, Path] = {}
    for name, uri in parse_adapters(env.get("ADAPTER_URIS", "")).items():
        path = fetch_adapter(client, name, uri, root / "adapters")
        if path is None:
            log.warning("no adapter %s at %s (no %s): not served", name, uri, MANIFEST)
            continue
        adapters[name] = path
    return serve_argv(base, served_name, adapters, extra)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import boto3

    argv = prepare(boto3.client("s3"), dict(os.environ), sys.argv[1:])
    log.info("starting: %s", " ".join(argv))
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
