# Placeholders: replace with the staging account's values before the first apply.
region                    = "eu-west-1"
account_id                = "123456789012"
github_repository         = "example-org/review-summarizer-llmops"
source_database_cidrs     = ["10.40.0.0/16"]
dvc_registry_url          = "https://git.example.com/data/review-data-registry.git"
eks_admin_role_arns       = ["arn:aws:iam::123456789012:role/llmops-terraform-apply-staging"]
opensearch_admin_role_arn = "arn:aws:iam::123456789012:role/llmops-opensearch-admin-staging"
