variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name, and the GitHub environment."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may assume the roles."
  type        = string
}

variable "mwaa_bucket_arn" {
  type = string
}

variable "mwaa_environment_arn" {
  type = string
}

variable "mwaa_environment_name" {
  type = string
}

variable "mwaa_execution_role_arn" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "repository_arns" {
  description = "The image repositories (tasks, training, evaluation, vllm)."
  type        = list(string)
}
