# The AWS estate of one environment, wired from the modules. Environments (terraform/environments/*)
# call this with their sizes; everything that differs between staging and prod is a variable here.
#
# `aws_profile_env` is the contract with the Python side: every ${VAR} that config/profiles/aws.yaml
# reads is set here and exported on every MWAA container (tests/infra checks both sides agree).

locals {
  cluster_name      = "${var.project}-${var.environment}"
  metrics_namespace = "LLMOps"
}

module "kms" {
  source      = "../kms"
  project     = var.project
  environment = var.environment
}

module "network" {
  source             = "../network"
  project            = var.project
  environment        = var.environment
  cidr               = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
  cluster_name       = local.cluster_name
  kms_key_arn        = module.kms.key_arn
  log_retention_days = var.log_retention_days
}

module "storage" {
  source                            = "../storage"
  project                           = var.project
  environment                       = var.environment
  kms_key_arn                       = module.kms.key_arn
  raw_retention_days                = var.raw_retention_days
  staging_retention_days            = var.staging_retention_days
  quarantine_retention_days         = var.quarantine_retention_days
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  access_log_retention_days         = var.log_retention_days
}

module "dynamodb" {
  source      = "../dynamodb"
  project     = var.project
  environment = var.environment
  kms_key_arn = module.kms.key_arn
}

module "sagemaker" {
  source                  = "../sagemaker"
  project                 = var.project
  environment             = var.environment
  vpc_id                  = module.network.vpc_id
  kms_key_arn             = module.kms.key_arn
  lake_bucket_arn         = module.storage.lake_bucket_arn
  models_bucket_arn       = module.storage.models_bucket_arn
  opensearch_domain_arn   = module.opensearch.domain_arn
  summary_cache_table_arn = module.dynamodb.table_arn
  bedrock_model_ids       = var.bedrock_model_ids
  metrics_namespace       = local.metrics_namespace
}

module "opensearch" {
  source                    = "../opensearch"
  project                   = var.project
  environment               = var.environment
  instance_type             = var.opensearch_instance_type
  instance_count            = var.opensearch_instance_count
  dedicated_master_count    = var.opensearch_dedicated_master_count
  volume_size_gb            = var.opensearch_volume_size_gb
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.data_subnet_ids
  client_security_group_ids = [module.mwaa.security_group_id, module.sagemaker.security_group_id]
  client_role_arns          = [module.mwaa.execution_role_arn, module.sagemaker.role_arn]
  master_role_arn           = var.opensearch_admin_role_arn
  kms_key_arn               = module.kms.key_arn
  log_retention_days        = var.log_retention_days
}

module "observability" {
  source                = "../observability"
  project               = var.project
  environment           = var.environment
  namespace             = local.metrics_namespace
  mwaa_environment_name = module.mwaa.environment_name
  kms_key_arn           = module.kms.key_arn
  thresholds            = var.monitoring_thresholds
  alert_emails          = var.alert_emails
}

module "mwaa" {
  source                   = "../mwaa"
  project                  = var.project
  environment              = var.environment
  vpc_id                   = module.network.vpc_id
  vpc_cidr                 = module.network.vpc_cidr
  subnet_ids               = module.network.mwaa_subnet_ids
  source_database_cidrs    = var.source_database_cidrs
  kms_key_arn              = module.kms.key_arn
  mwaa_bucket              = module.storage.mwaa_bucket
  mwaa_bucket_arn          = module.storage.mwaa_bucket_arn
  lake_bucket_arn          = module.storage.lake_bucket_arn
  models_bucket_arn        = module.storage.models_bucket_arn
  sagemaker_role_arn       = module.sagemaker.role_arn
  summary_cache_table_arn  = module.dynamodb.table_arn
  opensearch_domain_arn    = module.opensearch.domain_arn
  bedrock_model_ids        = var.bedrock_model_ids
  alert_topic_arns         = values(module.observability.topic_arns)
  metrics_namespace        = local.metrics_namespace
  mlflow_client_policy_arn = module.sagemaker.mlflow_client_policy_arn
  startup_env              = local.aws_profile_env
  environment_class        = var.mwaa_environment_class
  min_workers              = var.mwaa_min_workers
  max_workers              = var.mwaa_max_workers
  min_webservers           = var.mwaa_min_webservers
  max_webservers           = var.mwaa_max_webservers
  schedulers               = var.mwaa_schedulers
}

module "eks" {
  source              = "../eks"
  project             = var.project
  environment         = var.environment
  cluster_name        = local.cluster_name
  kubernetes_version  = var.kubernetes_version
  subnet_ids          = module.network.eks_subnet_ids
  public_access_cidrs = var.eks_public_access_cidrs
  admin_role_arns     = var.eks_admin_role_arns
  kms_key_arn         = module.kms.key_arn
  log_retention_days  = var.log_retention_days
  models_bucket_arn   = module.storage.models_bucket_arn
}

module "github_oidc" {
  source                  = "../github_oidc"
  project                 = var.project
  environment             = var.environment
  github_repository       = var.github_repository
  mwaa_bucket_arn         = module.storage.mwaa_bucket_arn
  mwaa_environment_arn    = module.mwaa.environment_arn
  mwaa_environment_name   = module.mwaa.environment_name
  mwaa_execution_role_arn = module.mwaa.execution_role_arn
  kms_key_arn             = module.kms.key_arn
  repository_arns         = concat(module.sagemaker.repository_arns, [module.eks.vllm_repository_arn])
}

locals {
  # Image URIs end in a tag the deploy workflow exports before these lines (the commit of the image's
  # inputs, docker/image-tag.sh), so DAG code and the images it runs always come from the same commit.
  aws_profile_env = {
    LLMOPS_LAKE_BUCKET                  = module.storage.lake_bucket
    LLMOPS_MODELS_BUCKET                = module.storage.models_bucket
    LLMOPS_TASK_IMAGE_URI               = "${module.sagemaker.repository_urls["tasks"]}:$${LLMOPS_TASK_IMAGE_TAG}"
    LLMOPS_TRAINING_IMAGE_URI           = "${module.sagemaker.repository_urls["training"]}:$${LLMOPS_TRAINING_IMAGE_TAG}"
    LLMOPS_EVALUATION_IMAGE_URI         = "${module.sagemaker.repository_urls["evaluation"]}:$${LLMOPS_EVALUATION_IMAGE_TAG}"
    LLMOPS_SAGEMAKER_ROLE_ARN           = module.sagemaker.role_arn
    LLMOPS_SAGEMAKER_SUBNET_IDS         = join(",", module.network.data_subnet_ids)
    LLMOPS_SAGEMAKER_SECURITY_GROUP_IDS = module.sagemaker.security_group_id
    LLMOPS_DVC_REGISTRY_URL             = var.dvc_registry_url
    LLMOPS_MLFLOW_TRACKING_URI          = module.sagemaker.mlflow_tracking_uri
    LLMOPS_ALERTS_TOPIC_ARN             = module.observability.topic_arns["warning"]
    LLMOPS_OPENSEARCH_ENDPOINT          = "https://${module.opensearch.endpoint}"
    LLMOPS_SUMMARY_CACHE_TABLE          = module.dynamodb.table_name
    LLMOPS_VLLM_BASE_URL                = "http://vllm.${module.network.internal_zone_name}/v1"
    LLMOPS_METRICS_NAMESPACE            = local.metrics_namespace
    LLMOPS_ENVIRONMENT                  = var.environment
    LLMOPS_QUARANTINE_HMAC_KEY_ARN      = module.sagemaker.quarantine_hmac_key_arn
  }
}

data "aws_region" "current" {}
