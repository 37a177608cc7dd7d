variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster name; ends with the environment."
  type        = string
}

variable "kubernetes_version" {
  type    = string
  default = "1.34"
}

variable "subnet_ids" {
  description = "Subnets of the EKS tier."
  type        = list(string)
}

variable "public_access_cidrs" {
  description = "Ranges allowed to reach the API server's public endpoint; empty keeps it private."
  type        = list(string)
  default     = []
}

variable "admin_role_arns" {
  description = "IAM roles with cluster-admin access (the role that applies the serving stack, operators)."
  type        = list(string)
}

variable "system_instance_types" {
  type    = list(string)
  default = ["m7i.large"]
}

variable "system_node_count" {
  type    = number
  default = 2
}

variable "kms_key_arn" {
  type = string
}

variable "log_retention_days" {
  type = number
}

variable "models_bucket_arn" {
  type = string
}

variable "vllm_model_prefixes" {
  description = "Prefixes of the models bucket vLLM may read: the base model and the served adapters."
  type        = list(string)
  default     = ["base-models/", "serving/"]
}

variable "karpenter_namespace" {
  type    = string
  default = "kube-system"
}

variable "keda_namespace" {
  type    = string
  default = "keda"
}

variable "vllm_namespace" {
  type    = string
  default = "vllm"
}

variable "vllm_service_account" {
  type    = string
  default = "vllm"
}
