variable "project" {
  type    = string
  default = "llmops"
}

variable "region" {
  type = string
}

variable "account_id" {
  type = string
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows run Terraform."
  type        = string
}

variable "environments" {
  description = "Environments deployed into this account (a GitHub environment and an apply role each)."
  type        = list(string)
  default     = ["staging", "prod"]
}

variable "apply_policy_arns" {
  description = "Managed policies of the apply roles: whatever your organisation grants a deployment pipeline that creates VPCs, IAM roles, EKS, MWAA, OpenSearch."
  type        = list(string)
}
