# Staging: what runs inside the EKS cluster (Karpenter, the NVIDIA device plugin, Prometheus, KEDA,
# vLLM). A separate stack because its providers need the cluster the parent stack creates; it reads
# that stack's outputs from its state.
#   terraform init -backend-config=../backend.hcl && terraform apply -var vllm_image_tag=$(../../../../docker/image-tag.sh vllm)

terraform {
  required_version = ">= 1.10.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "2.38.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "3.0.2"
    }
  }
  backend "s3" {
    key          = "prod/serving.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

data "terraform_remote_state" "platform" {
  backend = "s3"
  config = {
    bucket = var.state_bucket
    key    = "prod/platform.tfstate"
    region = var.region
  }
}

locals {
  platform = data.terraform_remote_state.platform.outputs.serving
  # Every call authenticates with a fresh token of the caller's IAM role.
  cluster_auth = {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", local.platform.cluster_name, "--region", var.region]
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]
  default_tags {
    tags = {
      Project     = local.platform.project
      Environment = local.platform.environment
      ManagedBy   = "terraform"
      Repository  = var.github_repository
    }
  }
}

provider "kubernetes" {
  host                   = local.platform.cluster_endpoint
  cluster_ca_certificate = base64decode(local.platform.cluster_certificate_authority)
  exec {
    api_version = local.cluster_auth.api_version
    command     = local.cluster_auth.command
    args        = local.cluster_auth.args
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.platform.cluster_endpoint
    cluster_ca_certificate = base64decode(local.platform.cluster_certificate_authority)
    exec                   = local.cluster_auth
  }
}

module "serving" {
  source         = "../../../modules/serving"
  platform       = local.platform
  vllm_image_tag = var.vllm_image_tag
  base_model     = var.base_model
  max_replicas   = 4
}

output "vllm_base_url" {
  value = module.serving.vllm_base_url
}
