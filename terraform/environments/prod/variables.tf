variable "region" {
  type = string
}

variable "account_id" {
  description = "The AWS account of this environment; a plan against any other fails."
  type        = string
}

variable "github_repository" {
  description = "owner/name of the repository whose workflows deploy here."
  type        = string
}

variable "source_database_cidrs" {
  description = "Where the PostgreSQL source database of the reviews is reachable from."
  type        = list(string)
}

variable "dvc_registry_url" {
  description = "Git URL of the DVC data registry."
  type        = string
}

variable "eks_admin_role_arns" {
  description = "Roles with cluster-admin on EKS: the role that applies ./serving, and operators."
  type        = list(string)
}

variable "opensearch_admin_role_arn" {
  description = "Role of the OpenSearch administrators (master user); it maps the pipeline roles once."
  type        = string
}

variable "eks_public_access_cidrs" {
  description = "Ranges allowed to reach the EKS API publicly (empty: private endpoint only)."
  type        = list(string)
  default     = []
}

variable "alert_emails" {
  type    = map(list(string))
  default = {}
}
