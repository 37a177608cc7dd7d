# The vLLM OpenAI-compatible server: the base model with multi-LoRA, adapters fetched from S3 at start
# and loadable at runtime, an API key from a Kubernetes secret, an internal load balancer that admits
# only the MWAA subnets, and KEDA scaling on vLLM's request queue from Prometheus, down to zero.
#
# Never on CPU: a CPU-scaled vLLM adds pods as batches grow, each pod gets a smaller batch, GPU
# efficiency falls and latency rises, which adds more pods (the latency death spiral). The queue of
# waiting requests is what a replica cannot absorb, so that is what adds one.

locals {
  ns     = local.p.vllm_namespace
  labels = { app = "vllm" }
  port   = 8000
  models = "s3://${local.p.models_bucket}"

  # A replica exists only when there is demand. Two signals, neither of them CPU:
  # - queue: requests waiting in vLLM's scheduler, per replica (adds replicas under load);
  # - batch demand: the products a running batch still has to summarize (the batch client publishes
  #   it to CloudWatch); it wakes the service from zero, since with no pod there is no queue to read.
  scaled_object = {
    apiVersion = "keda.sh/v1alpha1"
    kind       = "ScaledObject"
    metadata   = { name = "vllm", namespace = local.ns }
    spec = {
      scaleTargetRef  = { name = "vllm" }
      minReplicaCount = 0
      maxReplicaCount = var.max_replicas
      pollingInterval = 15
      cooldownPeriod  = var.scale_to_zero_after_s
      advanced = {
        horizontalPodAutoscalerConfig = {
          behavior = {
            scaleUp   = { stabilizationWindowSeconds = 0 }
            scaleDown = { stabilizationWindowSeconds = 600 }
          }
        }
      }
      triggers = [
        {
          type = "prometheus"
          name = "queue"
          metadata = {
            serverAddress       = "http://prometheus-server.monitoring.svc"
            query               = "sum(vllm:num_requests_waiting{namespace=\"${local.ns}\"})"
            threshold           = tostring(var.waiting_requests_per_replica)
            activationThreshold = "0"
            ignoreNullValues    = "true"
          }
        },
        {
          type              = "aws-cloudwatch"
          name              = "batch-demand"
          authenticationRef = { name = "keda-aws" }
          metadata = {
            awsRegion                   = local.p.region
            namespace                   = local.p.metrics_namespace
            metricName                  = local.p.pending_requests_metric
            dimensionName               = "Environment"
            dimensionValue              = local.p.environment
            metricStat                  = "Maximum"
            metricStatPeriod            = "60"
            metricCollectionTime        = "300"
            minMetricValue              = "0"
            activationTargetMetricValue = "0"
            # One replica per this many pending products: a batch alone never asks for more than the
            # first replica; the queue trigger adds the rest.
            targetMetricValue = "100000"
          }
        },
      ]
    }
  }

  keda_aws_auth = {
    apiVersion = "keda.sh/v1alpha1"
    kind       = "TriggerAuthentication"
    metadata   = { name = "keda-aws", namespace = local.ns }
    spec       = { podIdentity = { provider = "aws", identityOwner = "keda" } }
  }
}

resource "kubernetes_namespace_v1" "vllm" {
  metadata {
    name = local.ns
  }
}

resource "kubernetes_service_account_v1" "vllm" {
  metadata {
    name        = local.p.vllm_service_account
    namespace   = kubernetes_namespace_v1.vllm.metadata[0].name
    annotations = { "eks.amazonaws.com/role-arn" = local.p.vllm_role_arn }
  }
  automount_service_account_token = false
}

# The API key is the password of the Airflow connection the batch client uses: one secret, two readers.
data "aws_secretsmanager_secret_version" "vllm_connection" {
  secret_id = local.p.vllm_connection_secret
}

resource "kubernetes_secret_v1" "api_key" {
  metadata {
    name      = "vllm-api-key"
    namespace = kubernetes_namespace_v1.vllm.metadata[0].name
  }
  data = {
    api-key = jsondecode(data.aws_secretsmanager_secret_version.vllm_connection.secret_string).password
  }
}

resource "kubernetes_deployment_v1" "vllm" {
  #checkov:skip=CKV_K8S_43: images are referenced by tag in an ECR repository with immutable tags, so a tag names exactly one digest
  metadata {
    name      = "vllm"
    namespace = kubernetes_namespace_v1.vllm.metadata[0].name
    labels    = local.labels
  }

  spec {
    # KEDA owns the replica count (see lifecycle); the first apply starts at zero.
    replicas = 0
    selector {
      match_labels = local.labels
    }

    template {
      metadata {
        labels = local.labels
        annotations = {
          "prometheus.io/scrape" = "true"
          "prometheus.io/port"   = tostring(local.port)
          "prometheus.io/path"   = "/metrics"
        }
      }

      spec {
        service_account_name             = kubernetes_service_account_v1.vllm.metadata[0].name
        automount_service_account_token  = false
        node_selector                    = local.gpu_node_label
        termination_grace_period_seconds = 60

        toleration {
          key      = local.gpu_taint.key
          operator = "Exists"
          effect   = local.gpu_taint.effect
        }

        security_context {
          run_as_non_root = true
          run_as_user     = 1000
          run_as_group    = 1000
          fs_group        = 1000
          seccomp_profile {
            type = "RuntimeDefault"
          }
        }

        container {
          name              = "vllm"
          image             = "${local.p.vllm_repository_url}:${var.vllm_image_tag}"
          image_pull_policy = "Always"
          args = [
            "--max-model-len", tostring(var.max_model_len),
            "--max-loras", tostring(length(var.adapters) + 2),
            "--max-lora-rank", tostring(var.max_lora_rank),
            "--gpu-memory-utilization", "0.90",
          ]

          port {
            name           = "http"
            container_port = local.port
          }

          env {
            name  = "MODEL_URI"
            value = "${local.models}/base-models/${var.base_model}/"
          }
          env {
            name  = "SERVED_MODEL_NAME"
            value = var.base_model
          }
          env {
            name  = "ADAPTER_URIS"
            value = join(",", [for a in var.adapters : "${a}=${local.models}/serving/${a}/"])
          }
          env {
            name  = "AWS_REGION"
            value = local.p.region
          }
          env {
            name = "VLLM_API_KEY"
            value_from {
              secret_key_ref {
                name = kubernetes_secret_v1.api_key.metadata[0].name
                key  = "api-key"
              }
            }
          }

          resources {
            requests = { cpu = "3", memory = "14Gi", "nvidia.com/gpu" = "1" }
            limits   = { cpu = "4", memory = "15Gi", "nvidia.com/gpu" = "1" }
          }

          # /health answers once the model is loaded. A cold start downloads the weights and loads
          # them on a GPU node that may itself have just started: allow 15 minutes before liveness.
          startup_probe {
            http_get {
              path = "/health"
              port = local.port
            }
            period_seconds    = 10
            timeout_seconds   = 5
            failure_threshold = 90
          }
          readiness_probe {
            http_get {
              path = "/health"
              port = local.port
            }
            period_seconds    = 5
            timeout_seconds   = 5
            failure_threshold = 3
          }
          liveness_probe {
            http_get {
              path = "/health"
              port = local.port
            }
            period_seconds    = 15
            timeout_seconds   = 10
            failure_threshold = 4
          }

          security_context {
            allow_privilege_escalation = false
            read_only_root_filesystem  = true
            capabilities {
              drop = ["ALL"]
            }
          }

          volume_mount {
            name       = "models"
            mount_path = "/models"
          }
          # The root filesystem is read-only: vLLM, torch and Triton write their caches under $HOME.
          volume_mount {
            name       = "home"
            mount_path = "/home/vllm"
          }
          volume_mount {
            name       = "tmp"
            mount_path = "/tmp"
          }
          volume_mount {
            name       = "shm"
            mount_path = "/dev/shm"
          }
        }

        volume {
          name = "models"
          empty_dir {
            size_limit = "150Gi"
          }
        }
        volume {
          name = "home"
          empty_dir {
            size_limit = "10Gi"
          }
        }
        volume {
          name = "tmp"
          empty_dir {
            size_limit = "5Gi"
          }
        }
        volume {
          name = "shm"
          empty_dir {
            medium     = "Memory"
            size_limit = "2Gi"
          }
        }
      }
    }
  }

  wait_for_rollout = false

  lifecycle {
    ignore_changes = [spec[0].replicas]
  }

  depends_on = [helm_release.gpu_nodes, helm_release.nvidia_device_plugin]
}

resource "kubernetes_service_v1" "vllm" {
  metadata {
    name      = "vllm"
    namespace = kubernetes_namespace_v1.vllm.metadata[0].name
    annotations = {
      "service.beta.kubernetes.io/aws-load-balancer-type"     = "nlb"
      "service.beta.kubernetes.io/aws-load-balancer-internal" = "true"
    }
  }
  spec {
    type                        = "LoadBalancer"
    selector                    = local.labels
    load_balancer_source_ranges = local.p.mwaa_subnet_cidrs
    port {
      name        = "http"
      port        = 80
      target_port = local.port
    }
  }
  wait_for_load_balancer = true
}

resource "helm_release" "vllm_autoscaling" {
  name       = "vllm-autoscaling"
  namespace  = kubernetes_namespace_v1.vllm.metadata[0].name
  chart      = "${path.module}/charts/manifests"
  values     = [yamlencode({ manifests = [local.keda_aws_auth, local.scaled_object] })]
  depends_on = [helm_release.keda, helm_release.prometheus, kubernetes_deployment_v1.vllm]
}

# The stable name MWAA calls (LLMOPS_VLLM_BASE_URL), whatever load balancer is behind it.
resource "aws_route53_record" "vllm" {
  zone_id = local.p.internal_zone_id
  name    = "vllm.${local.p.internal_zone_name}"
  type    = "CNAME"
  ttl     = 60
  records = [kubernetes_service_v1.vllm.status[0].load_balancer[0].ingress[0].hostname]
}
