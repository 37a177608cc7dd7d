# Staging: the AWS estate (everything but what runs inside the EKS cluster, which is ./serving).
#   terraform init -backend-config=backend.hcl && terraform apply

terraform {
  required_version = ">= 1.10.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
  # bucket and region come from backend.hcl; the lock is an S3 lock file next to the state.
  backend "s3" {
    key          = "prod/platform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

locals {
  project     = "llmops"
  environment = "prod"
  # The thresholds the Python gates read; the alarms take the `monitoring:` section.
  thresholds = yamldecode(file("${path.root}/../../../config/thresholds.yaml"))
  # How long the lake keeps raw extracts and quarantine: `ingestion.retention` of the pipeline config,
  # with the aws profile's overrides, the days the pipeline itself reads.
  pipeline    = yamldecode(file("${path.root}/../../../config/pipeline.yaml"))
  aws_profile = yamldecode(file("${path.root}/../../../config/profiles/aws.yaml"))
  retention   = merge(local.pipeline.ingestion.retention, try(local.aws_profile.ingestion.retention, {}))
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]
  default_tags {
    tags = {
      Project     = local.project
      Environment = local.environment
      ManagedBy   = "terraform"
      Repository  = var.github_repository
    }
  }
}

module "platform" {
  source                = "../../modules/platform"
  project               = local.project
  environment           = local.environment
  github_repository     = var.github_repository
  monitoring_thresholds = local.thresholds.monitoring
  alert_emails          = var.alert_emails

  vpc_cidr              = "10.50.0.0/16"
  az_count              = 3
  single_nat_gateway    = false
  source_database_cidrs = var.source_database_cidrs
  dvc_registry_url      = var.dvc_registry_url
  bedrock_model_ids     = ["amazon.titan-embed-text-v2:0"]

  log_retention_days                = 365
  raw_retention_days                = local.retention.raw_days
  staging_retention_days            = 7
  quarantine_retention_days         = local.retention.quarantine_days
  noncurrent_version_retention_days = 90

  mwaa_environment_class = "mw1.medium"
  mwaa_min_workers       = 2
  mwaa_max_workers       = 10
  mwaa_min_webservers    = 2
  mwaa_max_webservers    = 2
  mwaa_schedulers        = 2

  opensearch_instance_type          = "r7g.large.search"
  opensearch_instance_count         = 3
  opensearch_dedicated_master_count = 3
  opensearch_volume_size_gb         = 200

  kubernetes_version  = "1.34"
  eks_admin_role_arns = var.eks_admin_role_arns

  opensearch_admin_role_arn = var.opensearch_admin_role_arn
  eks_public_access_cidrs   = var.eks_public_access_cidrs
}
