variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "engine_version" {
  type    = string
  default = "OpenSearch_2.19"
}

variable "instance_type" {
  type = string
}

variable "instance_count" {
  description = "Data nodes; more than one spreads them over zones."
  type        = number
}

variable "dedicated_master_count" {
  description = "Dedicated master nodes (0 or 3)."
  type        = number
  validation {
    condition     = contains([0, 3], var.dedicated_master_count)
    error_message = "dedicated_master_count must be 0 or 3."
  }
}

variable "dedicated_master_type" {
  type    = string
  default = "m7g.large.search"
}

variable "volume_size_gb" {
  type = number
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Subnets of the data tier, one per zone."
  type        = list(string)
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the domain: MWAA and the SageMaker jobs."
  type        = list(string)
}

variable "client_role_arns" {
  description = "IAM roles the domain policy admits: MWAA's execution role and the SageMaker jobs' role."
  type        = list(string)
}

variable "master_role_arn" {
  description = "IAM role of the administrators, mapped to the fine-grained access control master user."
  type        = string
}

variable "kms_key_arn" {
  type = string
}

variable "log_retention_days" {
  type = number
}
