output "lake_bucket" {
  value = module.lake.name
}

output "lake_bucket_arn" {
  value = module.lake.arn
}

output "models_bucket" {
  value = module.models.name
}

output "models_bucket_arn" {
  value = module.models.arn
}

output "mwaa_bucket" {
  value = module.mwaa.name
}

output "mwaa_bucket_arn" {
  value = module.mwaa.arn
}

output "dvc_remote_url" {
  description = "The DVC remote: a prefix of the lake bucket, as config/profiles/aws.yaml expects."
  value       = "s3://${module.lake.name}/dvc"
}
