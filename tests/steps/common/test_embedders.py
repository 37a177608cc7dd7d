"""The Bedrock client: which credentials it signs with is a setting, not a guess from what is installed."""

from __future__ import annotations

from common.embedders import bedrock_runtime_client
from common.settings import EmbeddingModelSettings


def titan(**overrides: object) -> EmbeddingModelSettings:
    fields = {
        "kind": "bedrock",
        "version": "amazon.titan-embed-text-v2:0@1024",
        "dimension": 1024,
        "max_tokens": 8192,
        "model_id": "amazon.titan-embed-text-v2:0",
        "region": "eu-west-1",
        "endpoint_url": "http://127.0.0.1:9",
        "concurrency": 24,
        "max_attempts": 5,
    }
    return EmbeddingModelSettings.model_validate({**fields, **overrides})


def test_without_a_connection_the_client_uses_boto3s_chain_with_the_configured_retries() -> None:
    model = titan()
    assert model.aws_conn_id is None  # the default: the steps that embed run as SageMaker jobs
    client = bedrock_runtime_client(model)
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert client.meta.config.max_pool_connections == 24
