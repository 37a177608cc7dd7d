# The state bucket made by terraform/bootstrap (its `state_bucket` output).
bucket = "llmops-tfstate-123456789012"
region = "eu-west-1"
