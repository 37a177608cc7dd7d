output "aws_profile_env" {
  description = "The variables config/profiles/aws.yaml reads, as every MWAA container exports them."
  value       = local.aws_profile_env
}

output "github_environment_variables" {
  description = "Variables of the GitHub environment of the same name, read by the workflows."
  value = {
    AWS_REGION                = data.aws_region.current.name
    AWS_DEPLOY_DAGS_ROLE_ARN  = module.github_oidc.role_arns["deploy-dags"]
    AWS_BUILD_IMAGES_ROLE_ARN = module.github_oidc.role_arns["build-images"]
    MWAA_ENVIRONMENT          = module.mwaa.environment_name
    MWAA_BUCKET               = module.storage.mwaa_bucket
    ECR_REGISTRY              = split("/", module.eks.vllm_repository_url)[0]
    ECR_REPOSITORY_PREFIX     = var.project
  }
}

output "mwaa_webserver_url" {
  value = module.mwaa.webserver_url
}

output "connection_secret_names" {
  value = module.mwaa.connection_secret_names
}

output "opensearch_backend_roles" {
  description = "IAM roles to map to an OpenSearch role once (MWAA tasks and SageMaker jobs read and write the index)."
  value       = [module.mwaa.execution_role_arn, module.sagemaker.role_arn]
}

output "metric_names" {
  value = module.observability.metric_names
}

# Read by the serving stack (terraform/environments/<env>/serving) through the remote state.
output "serving" {
  value = {
    project                       = var.project
    environment                   = var.environment
    region                        = data.aws_region.current.name
    cluster_name                  = module.eks.cluster_name
    cluster_endpoint              = module.eks.cluster_endpoint
    cluster_certificate_authority = module.eks.cluster_certificate_authority
    node_instance_profile         = module.eks.node_instance_profile
    karpenter_role_arn            = module.eks.karpenter_role_arn
    karpenter_queue_name          = module.eks.karpenter_queue_name
    karpenter_namespace           = module.eks.karpenter_namespace
    keda_namespace                = module.eks.keda_namespace
    keda_role_arn                 = module.eks.keda_role_arn
    vllm_namespace                = module.eks.vllm_namespace
    vllm_service_account          = module.eks.vllm_service_account
    vllm_role_arn                 = module.eks.vllm_role_arn
    vllm_repository_url           = module.eks.vllm_repository_url
    models_bucket                 = module.storage.models_bucket
    internal_zone_id              = module.network.internal_zone_id
    internal_zone_name            = module.network.internal_zone_name
    mwaa_subnet_cidrs             = module.network.mwaa_subnet_cidrs
    vllm_connection_secret        = module.mwaa.connection_secret_names["vllm_default"]
    metrics_namespace             = local.metrics_namespace
    pending_requests_metric       = module.observability.metric_names["pending"]
  }
}
