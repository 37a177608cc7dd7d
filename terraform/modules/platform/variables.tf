variable "project" {
  description = "Short project name, the first part of every resource name (lowercase letters, digits, hyphens)."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}$", var.project))
    error_message = "project must be 2-15 lowercase letters, digits or hyphens (it prefixes bucket and domain names)."
  }
}

variable "environment" {
  description = "Environment name: the suffix of every resource name and the GitHub environment that deploys it."
  type        = string
  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod."
  }
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows deploy this environment."
  type        = string
}

variable "vpc_cidr" {
  type = string
}

variable "az_count" {
  type = number
}

variable "single_nat_gateway" {
  type = bool
}

variable "source_database_cidrs" {
  description = "Where the PostgreSQL source database of the reviews is reachable from."
  type        = list(string)
}

variable "dvc_registry_url" {
  description = "Git URL of the DVC data registry (a repository of .dvc files)."
  type        = string
}

variable "bedrock_model_ids" {
  description = "Bedrock models the pipelines invoke (the embedding model)."
  type        = list(string)
}

variable "monitoring_thresholds" {
  description = "The `monitoring:` section of config/thresholds.yaml."
  type = object({
    faithfulness_min        = number
    toxicity_rate_max       = number
    pii_rate_max            = number
    format_failure_rate_max = number
    vllm_p95_latency_s_max  = number
    vllm_error_rate_max     = number
  })
}

variable "alert_emails" {
  description = "E-mail subscribers by severity (critical, warning)."
  type        = map(list(string))
  default     = {}
}

variable "log_retention_days" {
  type = number
}

variable "raw_retention_days" {
  type = number
}

variable "staging_retention_days" {
  type = number
}

variable "quarantine_retention_days" {
  type = number
}

variable "noncurrent_version_retention_days" {
  type = number
}

variable "mwaa_environment_class" {
  type = string
}

variable "mwaa_min_workers" {
  type = number
}

variable "mwaa_max_workers" {
  type = number
}

variable "mwaa_min_webservers" {
  type = number
}

variable "mwaa_max_webservers" {
  type = number
}

variable "mwaa_schedulers" {
  type = number
}

variable "opensearch_instance_type" {
  type = string
}

variable "opensearch_instance_count" {
  type = number
}

variable "opensearch_dedicated_master_count" {
  type = number
}

variable "opensearch_volume_size_gb" {
  type = number
}

variable "opensearch_admin_role_arn" {
  description = "IAM role of the OpenSearch administrators (the fine-grained access control master user)."
  type        = string
}

variable "kubernetes_version" {
  type = string
}

variable "eks_public_access_cidrs" {
  type    = list(string)
  default = []
}

variable "eks_admin_role_arns" {
  type = list(string)
}
