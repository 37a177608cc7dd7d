"""moto's server on loopback, for tests that reach S3, SNS or SQS over real HTTP as the code would in AWS.

moto keeps one in-memory AWS per process, shared by all its servers: each server therefore starts with
that state reset, so no bucket or topic an earlier test made is seen by the next.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

REGION = "eu-west-1"


@contextmanager
def moto_server() -> Iterator[str]:
    """Start a moto server on a free loopback port with no AWS state; yield its endpoint URL; stop it."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        yield endpoint
    finally:
        server.stop()


@contextmanager
def aws_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto server that every boto3 client and S3 filesystem made meanwhile talks to.

    fsspec caches S3 filesystems across tests, and a cached one keeps the endpoint it was made with, so
    the cache is emptied on the way in and out.
    """
    with moto_server() as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        _forget_s3_filesystems()
        try:
            yield endpoint
        finally:
            _forget_s3_filesystems()


def create_bucket(endpoint: str, name: str):
    """Create bucket `name` on the moto server; return the S3 client used."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return s3


def _forget_s3_filesystems() -> None:
    try:
        from s3fs import S3FileSystem
    except ImportError:  # an environment without s3fs has no cache to empty
        return
    S3FileSystem.clear_instance_cache()
