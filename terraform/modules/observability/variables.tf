variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "namespace" {
  description = "CloudWatch namespace the pipelines publish their metrics to."
  type        = string
}

variable "mwaa_environment_name" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "thresholds" {
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
