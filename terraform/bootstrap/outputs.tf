output "state_bucket" {
  description = "The `bucket` of every environment's backend.hcl."
  value       = aws_s3_bucket.state.id
}

output "terraform_role_arns" {
  description = "Role ARN by job: plan (pull requests) and apply-<env>; set them as GitHub variables."
  value       = { for k, r in aws_iam_role.terraform : k => r.arn }
}

output "github_oidc_provider_arn" {
  value = aws_iam_openid_connect_provider.github.arn
}
