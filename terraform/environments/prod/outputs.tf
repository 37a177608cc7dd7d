output "aws_profile_env" {
  description = "What every MWAA container exports for config/profiles/aws.yaml."
  value       = module.platform.aws_profile_env
}

output "github_environment_variables" {
  description = "Set these as variables of the GitHub environment `prod`."
  value       = module.platform.github_environment_variables
}

output "mwaa_webserver_url" {
  value = module.platform.mwaa_webserver_url
}

output "connection_secret_names" {
  value = module.platform.connection_secret_names
}

output "opensearch_backend_roles" {
  value = module.platform.opensearch_backend_roles
}

output "metric_names" {
  value = module.platform.metric_names
}

output "serving" {
  description = "Read by ./serving."
  value       = module.platform.serving
}
