# Placeholders: replace with the account's values.
region            = "eu-west-1"
account_id        = "123456789012"
github_repository = "example-org/review-summarizer-llmops"
apply_policy_arns = ["arn:aws:iam::aws:policy/AdministratorAccess"]
