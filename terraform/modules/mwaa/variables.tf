variable "project" {
  description = "Short project name, the first part of every resource name."
  type        = string
}

variable "environment" {
  description = "Environment name (staging, prod): the suffix of every resource name."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "subnet_ids" {
  description = "The two private subnets of the MWAA tier."
  type        = list(string)
}

variable "source_database_cidrs" {
  description = "Where the PostgreSQL source database of the reviews is reachable from the workers."
  type        = list(string)
}

variable "kms_key_arn" {
  type = string
}

variable "mwaa_bucket" {
  type = string
}

variable "mwaa_bucket_arn" {
  type = string
}

variable "lake_bucket_arn" {
  type = string
}

variable "lake_prefixes" {
  description = "Prefixes of the lake bucket the DAG-side tasks read and write."
  type        = list(string)
  default     = ["lake/", "dvc/"]
}

variable "models_bucket_arn" {
  type = string
}

variable "sagemaker_role_arn" {
  description = "The role the heavy steps' SageMaker jobs run as: the only role MWAA may pass."
  type        = string
}

variable "summary_cache_table_arn" {
  type = string
}

variable "opensearch_domain_arn" {
  type = string
}

variable "bedrock_model_ids" {
  description = "Bedrock foundation models the DAG-side tasks may invoke (the embedding model)."
  type        = list(string)
}

variable "alert_topic_arns" {
  type = list(string)
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the pipelines' own metrics."
  type        = string
}

variable "startup_env" {
  description = "Environment variables every MWAA container exports: the names the aws profile reads."
  type        = map(string)
}

variable "environment_class" {
  description = "MWAA environment class (mw1.micro ... mw1.2xlarge)."
  type        = string
}

variable "min_workers" {
  type = number
}

variable "max_workers" {
  type = number
}

variable "min_webservers" {
  type = number
}

variable "max_webservers" {
  type = number
}

variable "schedulers" {
  type = number
}

variable "connection_ids" {
  description = "Airflow connections kept in Secrets Manager (their values are put by an operator)."
  type        = list(string)
  default     = ["reviews_source", "vllm_default"]
}

variable "mlflow_client_policy_arn" {
  description = "Managed policy that lets a role use the MLflow tracking server and its artifact store."
  type        = string
}
