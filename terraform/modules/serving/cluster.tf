# What the vLLM service needs in the cluster: Karpenter with a GPU node pool that is empty until a
# replica needs a GPU, the NVIDIA device plugin on those nodes, Prometheus scraping vLLM's metrics, and
# KEDA scaling on them.

locals {
  p              = var.platform
  gpu_taint      = { key = "nvidia.com/gpu", value = "true", effect = "NoSchedule" }
  system_nodes   = { "node-role" = "system" }
  gpu_node_label = { "node-role" = "gpu" }

  gpu_node_class = {
    apiVersion = "karpenter.k8s.aws/v1"
    kind       = "EC2NodeClass"
    metadata   = { name = "gpu" }
    spec = {
      # AL2023 resolves to the EKS-optimized NVIDIA AMI (driver included) on GPU instance types.
      amiSelectorTerms           = [{ alias = "al2023@latest" }]
      instanceProfile            = local.p.node_instance_profile
      subnetSelectorTerms        = [{ tags = { "karpenter.sh/discovery" = local.p.cluster_name } }]
      securityGroupSelectorTerms = [{ tags = { "karpenter.sh/discovery" = local.p.cluster_name } }]
      metadataOptions            = { httpEndpoint = "enabled", httpTokens = "required", httpPutResponseHopLimit = 1 }
      # Room for the image, the base model and the adapters the pod downloads at start.
      blockDeviceMappings = [{
        deviceName = "/dev/xvda"
        ebs        = { volumeSize = "200Gi", volumeType = "gp3", encrypted = true, deleteOnTermination = true }
      }]
      tags = { Project = local.p.project, Environment = local.p.environment }
    }
  }

  # Scales to zero: Karpenter has no minimum, and removes a GPU node once it is empty.
  gpu_node_pool = {
    apiVersion = "karpenter.sh/v1"
    kind       = "NodePool"
    metadata   = { name = "gpu" }
    spec = {
      template = {
        metadata = { labels = local.gpu_node_label }
        spec = {
          nodeClassRef = { group = "karpenter.k8s.aws", kind = "EC2NodeClass", name = "gpu" }
          requirements = [
            { key = "karpenter.k8s.aws/instance-family", operator = "In", values = var.gpu_instance_families },
            { key = "karpenter.k8s.aws/instance-gpu-count", operator = "In", values = ["1"] },
            { key = "karpenter.sh/capacity-type", operator = "In", values = var.gpu_capacity_types },
            { key = "kubernetes.io/arch", operator = "In", values = ["amd64"] },
          ]
          taints      = [local.gpu_taint]
          expireAfter = "720h"
        }
      }
      disruption = { consolidationPolicy = "WhenEmpty", consolidateAfter = "5m" }
      limits     = { "nvidia.com/gpu" = tostring(var.max_replicas) }
    }
  }
}

resource "helm_release" "karpenter" {
  name       = "karpenter"
  namespace  = local.p.karpenter_namespace
  repository = "oci://public.ecr.aws/karpenter"
  chart      = "karpenter"
  version    = var.karpenter_version
  wait       = true
  values = [yamlencode({
    serviceAccount = { annotations = { "eks.amazonaws.com/role-arn" = local.p.karpenter_role_arn } }
    settings       = { clusterName = local.p.cluster_name, interruptionQueue = local.p.karpenter_queue_name }
    nodeSelector   = local.system_nodes
    controller     = { resources = { requests = { cpu = "500m", memory = "512Mi" }, limits = { cpu = "1", memory = "1Gi" } } }
  })]
}

resource "helm_release" "gpu_nodes" {
  name       = "gpu-nodes"
  namespace  = local.p.karpenter_namespace
  chart      = "${path.module}/charts/manifests"
  values     = [yamlencode({ manifests = [local.gpu_node_class, local.gpu_node_pool] })]
  depends_on = [helm_release.karpenter]
}

resource "helm_release" "nvidia_device_plugin" {
  name       = "nvidia-device-plugin"
  namespace  = "kube-system"
  repository = "https://nvidia.github.io/k8s-device-plugin"
  chart      = "nvidia-device-plugin"
  version    = var.nvidia_device_plugin_version
  values = [yamlencode({
    # The chart's default affinity expects Node Feature Discovery labels; the GPU pool's label is enough.
    affinity     = null
    nodeSelector = local.gpu_node_label
    tolerations  = [{ key = local.gpu_taint.key, operator = "Exists", effect = local.gpu_taint.effect }]
  })]
}

resource "helm_release" "prometheus" {
  name             = "prometheus"
  namespace        = "monitoring"
  create_namespace = true
  repository       = "https://prometheus-community.github.io/helm-charts"
  chart            = "prometheus"
  version          = var.prometheus_chart_version
  # Only what scaling needs: a server scraping annotated pods (vLLM's /metrics) with a short memory.
  values = [yamlencode({
    alertmanager               = { enabled = false }
    "prometheus-pushgateway"   = { enabled = false }
    "prometheus-node-exporter" = { enabled = false }
    "kube-state-metrics"       = { enabled = false }
    server = {
      retention        = "2d"
      persistentVolume = { enabled = false }
      nodeSelector     = local.system_nodes
      global           = { scrape_interval = "15s", evaluation_interval = "15s" }
    }
  })]
}

resource "helm_release" "keda" {
  name             = "keda"
  namespace        = local.p.keda_namespace
  create_namespace = true
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.keda_version
  values = [yamlencode({
    podIdentity  = { aws = { irsa = { enabled = true, roleArn = local.p.keda_role_arn } } }
    nodeSelector = local.system_nodes
  })]
}
