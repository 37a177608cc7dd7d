variable "name" {
  description = "Bucket name (globally unique; ends with the environment)."
  type        = string
}

variable "kms_key_arn" {
  description = "Key of the bucket's default encryption."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's S3 server access logs."
  type        = string
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept."
  type        = number
}

variable "expire_prefixes" {
  description = "Days objects under each prefix are kept (prefix => days); other objects do not expire."
  type        = map(number)
  default     = {}
}

variable "expired_noncurrent_version_days" {
  description = "Days an overwritten, deleted or expired object version under an expire_prefixes prefix is kept (what expires must not live on as an old version)."
  type        = number
  default     = 1
}
