variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  description = "Key that encrypts the lake, models and MWAA buckets."
  type        = string
}

variable "raw_retention_days" {
  description = "Days raw extracts (unredacted review text) are kept under lake/raw/."
  type        = number
}

variable "staging_retention_days" {
  description = "Days uncommitted run scratch space is kept under lake/staging/."
  type        = number
}

variable "quarantine_retention_days" {
  description = "Days quarantined records are kept under lake/quarantine/ for review and reprocessing."
  type        = number
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
}

variable "access_log_retention_days" {
  description = "Days S3 server access logs are kept."
  type        = number
}
