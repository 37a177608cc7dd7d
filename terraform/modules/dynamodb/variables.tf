variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "kms_key_arn" {
  type = string
}

variable "ttl_attribute" {
  description = "Item attribute holding the expiry time (epoch seconds) the batch writes."
  type        = string
  default     = "expires_at"
}

variable "deletion_protection" {
  type    = bool
  default = true
}
