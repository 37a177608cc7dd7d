variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "images" {
  description = "Images the SageMaker jobs run; one repository each (docker/<image>/Dockerfile)."
  type        = list(string)
  default     = ["tasks", "training", "evaluation"]
}

variable "images_to_keep" {
  description = "Images kept per repository; older ones expire."
  type        = number
  default     = 30
}

variable "vpc_id" {
  type = string
}

variable "kms_key_arn" {
  type = string
}

variable "lake_bucket_arn" {
  type = string
}

variable "models_bucket_arn" {
  type = string
}

variable "opensearch_domain_arn" {
  type = string
}

variable "summary_cache_table_arn" {
  description = "The summary cache's DynamoDB table, which batch inference writes and forgetting cleans."
  type        = string
}

variable "bedrock_model_ids" {
  description = "Bedrock foundation models the steps may invoke (the embedding model, an evaluation judge)."
  type        = list(string)
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the pipelines' own metrics."
  type        = string
}

variable "mlflow_server_size" {
  description = "Small, Medium or Large (teams up to 25, 50, 100 users)."
  type        = string
  default     = "Small"
}
