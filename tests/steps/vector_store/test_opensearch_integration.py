"""The OpenSearch backend against a real cluster: the same contract the local backend meets.

Runs only when `OPENSEARCH_URL` names a cluster the tests may write to (for example a local
`opensearchproject/opensearch` container: `http://localhost:9200` with the security plugin disabled,
or `https://admin:<password>@localhost:9200` with `OPENSEARCH_VERIFY_CERTS=false`). Indices are named
`llmops-test-<random>-*` and deleted afterwards.
"""

from __future__ import annotations

import os
import uuid

import pytest

from common.settings import OpenSearchSettings
from common.vector_store.opensearch import OpenSearchVectorStore

from .contract import check_store_contract

OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL")

pytestmark = pytest.mark.skipif(
    not OPENSEARCH_URL,
    reason="no OpenSearch cluster: set OPENSEARCH_URL (e.g. http://localhost:9200) to run this test",
)


def test_a_real_cluster_meets_the_store_contract():
    settings = OpenSearchSettings(
        endpoint=OPENSEARCH_URL or "",
        auth="none",
        verify_certs=os.environ.get("OPENSEARCH_VERIFY_CERTS", "true").lower() != "false",
        shards=1,
        replicas=0,
    )
    store = OpenSearchVectorStore.from_settings(settings)
    prefix = f"llmops-test-{uuid.uuid4().hex[:8]}"
    try:
        check_store_contract(store, prefix)
    finally:
        for info in store.list_indices(prefix):
            store.client.indices.delete(index=info.name)  # its aliases go with it
