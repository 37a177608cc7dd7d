output "environment_name" {
  value = aws_mwaa_environment.this.name
}

output "environment_arn" {
  value = aws_mwaa_environment.this.arn
}

output "webserver_url" {
  value = aws_mwaa_environment.this.webserver_url
}

output "execution_role_arn" {
  value = aws_iam_role.execution.arn
}

output "security_group_id" {
  value = aws_security_group.mwaa.id
}

output "secrets_prefix" {
  description = "Secrets Manager prefix of the Airflow connections (<prefix>/connections/<conn_id>)."
  value       = local.secrets_prefix
}

output "startup_env_key" {
  description = "Object key of the rendered exports the deploy workflow appends to startup.sh."
  value       = aws_s3_object.startup_env.key
}

output "connection_secret_names" {
  description = "Secrets Manager name of each Airflow connection, by connection id."
  value       = { for k, s in aws_secretsmanager_secret.connections : k => s.name }
}
