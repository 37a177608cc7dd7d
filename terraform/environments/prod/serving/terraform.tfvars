# Placeholders: replace with the prod account's values before the first apply.
region            = "eu-west-1"
account_id        = "123456789012"
github_repository = "example-org/review-summarizer-llmops"
state_bucket      = "llmops-tfstate-123456789012"
base_model        = "qwen2.5-1.5b-instruct"
