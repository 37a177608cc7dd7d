variable "platform" {
  description = "The platform stack's `serving` output (cluster, roles, names), read from its state."
  type = object({
    project                       = string
    environment                   = string
    region                        = string
    cluster_name                  = string
    cluster_endpoint              = string
    cluster_certificate_authority = string
    node_instance_profile         = string
    karpenter_role_arn            = string
    karpenter_queue_name          = string
    karpenter_namespace           = string
    keda_namespace                = string
    keda_role_arn                 = string
    vllm_namespace                = string
    vllm_service_account          = string
    vllm_role_arn                 = string
    vllm_repository_url           = string
    models_bucket                 = string
    internal_zone_id              = string
    internal_zone_name            = string
    mwaa_subnet_cidrs             = list(string)
    vllm_connection_secret        = string
    metrics_namespace             = string
    pending_requests_metric       = string
  })
}

variable "vllm_image_tag" {
  description = "Tag of the vLLM image in ECR: the commit of its inputs (docker/image-tag.sh vllm)."
  type        = string
}

variable "base_model" {
  description = "Name of the base model: its weights are under s3://<models bucket>/base-models/<name>/ and vLLM serves it under this name."
  type        = string
}

variable "adapters" {
  description = "LoRA adapters loaded at start, by served name, from s3://<models bucket>/serving/<name>/ (absent ones are skipped)."
  type        = list(string)
  default     = ["champion", "challenger"]
}

variable "max_model_len" {
  type    = number
  default = 4096
}

variable "max_lora_rank" {
  type    = number
  default = 64
}

variable "max_replicas" {
  description = "Most vLLM replicas (one GPU each)."
  type        = number
}

variable "waiting_requests_per_replica" {
  description = "Target of vllm:num_requests_waiting per replica: above it KEDA adds replicas."
  type        = number
  default     = 8
}

variable "scale_to_zero_after_s" {
  description = "Seconds without demand (no waiting requests, no pending batch) before vLLM goes to zero replicas."
  type        = number
  default     = 900
}

variable "gpu_instance_families" {
  type    = list(string)
  default = ["g5", "g6", "g6e"]
}

variable "gpu_capacity_types" {
  description = "on-demand and/or spot for the GPU nodes."
  type        = list(string)
  default     = ["on-demand"]
}

variable "karpenter_version" {
  type    = string
  default = "1.6.0"
}

variable "keda_version" {
  type    = string
  default = "2.17.2"
}

variable "nvidia_device_plugin_version" {
  type    = string
  default = "0.17.1"
}

variable "prometheus_chart_version" {
  type    = string
  default = "27.11.0"
}
