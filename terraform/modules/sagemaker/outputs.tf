output "role_arn" {
  value = aws_iam_role.jobs.arn
}

output "security_group_id" {
  value = aws_security_group.jobs.id
}

output "repository_urls" {
  description = "Image repository URL by image name."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "repository_arns" {
  value = [for r in aws_ecr_repository.this : r.arn]
}

output "mlflow_tracking_uri" {
  description = "Tracking URI of the MLflow server (its ARN, read by the sagemaker-mlflow plugin)."
  value       = aws_sagemaker_mlflow_tracking_server.this.arn
}

output "mlflow_client_policy_arn" {
  value = aws_iam_policy.mlflow_client.arn
}

output "quarantine_hmac_key_arn" {
  description = "ARN of the secret holding the quarantine HMAC key (the transform step reads it)."
  value       = aws_secretsmanager_secret.quarantine_hmac_key.arn
}
