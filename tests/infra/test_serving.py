"""The vLLM service on EKS: queue-based scaling down to zero (never CPU), GPU nodes that exist only
while a replica needs one, cold-start-sized probes, reachable from MWAA only, least-privilege IRSA."""

from __future__ import annotations

import re
from pathlib import Path

from tests.infra.tf import (
    MODULES,
    TERRAFORM,
    all_blocks,
    attr,
    blocks,
    find,
    locals_of,
    one,
    variable_default,
)

SERVING = MODULES / "serving"
EKS = MODULES / "eks"


def _serving() -> dict:
    return locals_of(SERVING)


def test_vllm_scales_on_its_request_queue_down_to_zero() -> None:
    scaled = _serving()["scaled_object"]
    assert scaled["kind"] == "ScaledObject"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "vllm"
    assert scaled["spec"]["minReplicaCount"] == 0
    queue = [t for t in scaled["spec"]["triggers"] if t["type"] == "prometheus"]
    assert len(queue) == 1
    assert "vllm:num_requests_waiting" in queue[0]["metadata"]["query"]
    assert queue[0]["metadata"]["serverAddress"].startswith("http://prometheus-server.")


def test_vllm_never_scales_on_cpu_or_memory() -> None:
    """The latency death spiral: scaling vLLM on CPU shrinks batches and raises latency under load."""
    triggers = _serving()["scaled_object"]["spec"]["triggers"]
    assert {t["type"] for t in triggers} <= {"prometheus", "aws-cloudwatch"}
    assert not [b for b in all_blocks() if "horizontal_pod_autoscaler" in b.type]


def test_the_batch_can_wake_the_service_from_zero() -> None:
    """With no pod there is no queue metric; the batch's pending-requests metric activates from zero."""
    (demand,) = [t for t in _serving()["scaled_object"]["spec"]["triggers"] if t["type"] == "aws-cloudwatch"]
    metadata = demand["metadata"]
    assert metadata["metricName"] == "${local.p.pending_requests_metric}"
    assert metadata["namespace"] == "${local.p.metrics_namespace}"
    assert metadata["activationTargetMetricValue"] == "0"
    assert demand["authenticationRef"]["name"] == _serving()["keda_aws_auth"]["metadata"]["name"]
    # KEDA reads it with its own role, which may only read metrics.
    keda = one(EKS, "data", "aws_iam_policy_document", "keda")
    (statement,) = blocks(keda.body, "statement")
    assert all(
        a.startswith("cloudwatch:Get") or a == "cloudwatch:ListMetrics" for a in attr(statement, "actions")
    )


def test_replicas_belong_to_keda() -> None:
    deployment = one(SERVING, "resource", "kubernetes_deployment_v1", "vllm")
    assert attr(blocks(deployment.body, "spec")[0], "replicas") == 0
    (lifecycle,) = blocks(deployment.body, "lifecycle")
    assert "spec[0].replicas" in str(attr(lifecycle, "ignore_changes"))


def test_gpu_node_pool_is_tainted_and_empties_itself() -> None:
    pool = _serving()["gpu_node_pool"]
    taint = _serving()["gpu_taint"]
    assert taint == {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    template = pool["spec"]["template"]["spec"]
    assert template["taints"] == ["${local.gpu_taint}"]
    families = [r for r in template["requirements"] if r["key"] == "karpenter.k8s.aws/instance-family"]
    assert families == [
        {
            "key": "karpenter.k8s.aws/instance-family",
            "operator": "In",
            "values": "${var.gpu_instance_families}",
        }
    ]
    assert set(variable_default(SERVING, "gpu_instance_families")) == {"g5", "g6", "g6e"}
    assert pool["spec"]["disruption"]["consolidationPolicy"] == "WhenEmpty"
    assert "nvidia.com/gpu" in pool["spec"]["limits"]


def test_gpu_nodes_go_to_zero() -> None:
    """Karpenter keeps no minimum; no managed node group holds GPU capacity."""
    pool = _serving()["gpu_node_pool"]
    assert "replicas" not in pool["spec"] and "minValues" not in str(pool)
    for group in (b for b in all_blocks() if b.type == "aws_eks_node_group"):
        assert "GPU" not in attr(group.body, "ami_type") and "NVIDIA" not in attr(group.body, "ami_type")
        types = str(attr(group.body, "instance_types")) + str(variable_default(EKS, "system_instance_types"))
        assert not any(f in types for f in ("g5.", "g6.", "g6e.", "p4", "p5")), group.address


def test_vllm_runs_only_on_gpu_nodes_and_tolerates_their_taint() -> None:
    spec = blocks(
        blocks(one(SERVING, "resource", "kubernetes_deployment_v1", "vllm").body, "spec")[0], "template"
    )[0]
    pod = blocks(spec, "spec")[0]
    assert attr(pod, "node_selector") == "${local.gpu_node_label}"
    assert _serving()["gpu_node_pool"]["spec"]["template"]["metadata"]["labels"] == "${local.gpu_node_label}"
    (toleration,) = blocks(pod, "toleration")
    assert attr(toleration, "key") == "${local.gpu_taint.key}"
    container = blocks(pod, "container")[0]
    limits = attr(blocks(container, "resources")[0], "limits")
    assert limits["nvidia.com/gpu"] == "1"


def test_device_plugin_runs_on_the_gpu_nodes() -> None:
    plugin = one(SERVING, "resource", "helm_release", "nvidia_device_plugin")
    values = attr(plugin.body, "values")
    assert "local.gpu_node_label" in str(values) and "local.gpu_taint" in str(values)


def _container() -> dict:
    deployment = one(SERVING, "resource", "kubernetes_deployment_v1", "vllm")
    pod = blocks(blocks(blocks(deployment.body, "spec")[0], "template")[0], "spec")[0]
    return blocks(pod, "container")[0]


def test_probes_use_health_and_allow_a_cold_start() -> None:
    container = _container()
    for probe in ("startup_probe", "readiness_probe", "liveness_probe"):
        (block,) = blocks(container, probe)
        assert attr(blocks(block, "http_get")[0], "path") == "/health", probe
    (startup,) = blocks(container, "startup_probe")
    # A GPU node boots, the weights download and load before /health answers: at least 10 minutes.
    assert attr(startup, "period_seconds") * attr(startup, "failure_threshold") >= 600


def test_api_key_comes_from_a_kubernetes_secret() -> None:
    env = {attr(e, "name"): e for e in blocks(_container(), "env")}
    ref = blocks(blocks(env["VLLM_API_KEY"], "value_from")[0], "secret_key_ref")[0]
    assert attr(ref, "name") == "${kubernetes_secret_v1.api_key.metadata[0].name}"
    assert "value" not in env["VLLM_API_KEY"]


def test_the_load_balancer_is_internal_and_admits_only_mwaa() -> None:
    service = one(SERVING, "resource", "kubernetes_service_v1", "vllm")
    annotations = attr(blocks(service.body, "metadata")[0], "annotations")
    assert annotations["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    spec = blocks(service.body, "spec")[0]
    assert attr(spec, "load_balancer_source_ranges") == "${local.p.mwaa_subnet_cidrs}"
    platform = one(MODULES / "platform", "output", name="serving")
    assert attr(platform.body, "value")["mwaa_subnet_cidrs"] == "${module.network.mwaa_subnet_cidrs}"


def test_vllm_role_reads_only_the_model_and_served_adapters() -> None:
    policy = one(EKS, "data", "aws_iam_policy_document", "vllm")
    actions = {a for s in blocks(policy.body, "statement") for a in attr(s, "actions")}
    assert actions == {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
    assert variable_default(EKS, "vllm_model_prefixes") == ["base-models/", "serving/"]
    trust = one(EKS, "data", "aws_iam_policy_document", "irsa_assume")
    assert "system:serviceaccount:" in str(trust.body)


def test_serving_stacks_read_the_platform_state_of_their_own_environment() -> None:
    for env in ("staging", "prod"):
        root = TERRAFORM / "environments" / env / "serving"
        (state,) = find(root, "data", "terraform_remote_state")
        assert attr(state.body, "config")["key"] == f"{env}/platform.tfstate"
        assert _platform_outputs_cover(Path(root))


def _platform_outputs_cover(root: Path) -> bool:
    """Every field the serving module takes is in the platform's `serving` output."""
    wanted = attr(one(SERVING, "variable", name="platform").body, "type")
    given = attr(one(MODULES / "platform", "output", name="serving").body, "value")
    missing = [k for k in given if f"'{k}'" not in wanted] + [
        k for k in _object_keys(wanted) if k not in given
    ]
    assert not missing, f"{root}: platform output and serving input differ: {missing}"
    return True


def _object_keys(type_expression: str) -> list[str]:
    return re.findall(r"'(\w+)': '\$\{", type_expression)
