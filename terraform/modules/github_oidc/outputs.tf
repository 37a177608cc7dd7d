output "role_arns" {
  description = "Role ARN by workflow (deploy-dags, build-images)."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}
