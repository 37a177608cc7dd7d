variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "cidr" {
  description = "The VPC's address range; split into /20 subnets, so a /16 is expected."
  type        = string
}

variable "az_count" {
  description = "Availability zones to spread the EKS and data tiers over (MWAA always takes two)."
  type        = number
  default     = 3
  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "zone_suffixes" {
  description = "Availability zones to choose from, as suffixes of the region name; the first az_count available ones are used."
  type        = list(string)
  default     = ["a", "b", "c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, staging) instead of one per zone (prod)."
  type        = bool
}

variable "cluster_name" {
  description = "EKS cluster name, written on the EKS subnets for Karpenter's subnet discovery."
  type        = string
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints rather than the NAT gateway."
  type        = list(string)
  default = [
    "ecr.api", "ecr.dkr", "sts", "logs", "monitoring", "sagemaker.api", "sagemaker.runtime",
    "bedrock-runtime", "secretsmanager",
  ]
}

variable "kms_key_arn" {
  description = "Key that encrypts the flow log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
}
