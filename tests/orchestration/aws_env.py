"""Placeholder values for every variable the `aws` profile needs, for tests that build aws objects.

They name nothing real: the account id is the documentation example and the endpoint is loopback.
"""

AWS_PROFILE_ENV = {
    "LLMOPS_PROFILE": "aws",
    "LLMOPS_LAKE_BUCKET": "llmops-lake-test",
    "LLMOPS_MODELS_BUCKET": "llmops-models-test",
    "LLMOPS_TASK_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llmops-tasks:test",
    "LLMOPS_EVALUATION_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llmops-evaluation:test",
    "LLMOPS_TRAINING_IMAGE_URI": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/llmops-training:test",
    "LLMOPS_SAGEMAKER_ROLE_ARN": "arn:aws:iam::123456789012:role/llmops-sagemaker-test",
    "LLMOPS_DVC_REGISTRY_URL": "https://git.example.invalid/llmops-data-registry.git",
    "LLMOPS_ALERTS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:llmops-alerts-test",
    "LLMOPS_OPENSEARCH_ENDPOINT": "https://vectors.example.invalid",
    "LLMOPS_MLFLOW_TRACKING_URI": "https://mlflow.example.invalid",
    "LLMOPS_SUMMARY_CACHE_TABLE": "llmops-summaries-test",
    "LLMOPS_METRICS_NAMESPACE": "LLMOpsTest",
    "LLMOPS_ENVIRONMENT": "test",
    "LLMOPS_SAGEMAKER_SUBNET_IDS": "subnet-0aaaaaaaaaaaaaaa1,subnet-0aaaaaaaaaaaaaaa2",
    "LLMOPS_SAGEMAKER_SECURITY_GROUP_IDS": "sg-0bbbbbbbbbbbbbbb1",
    "LLMOPS_QUARANTINE_HMAC_KEY_ARN": (
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:llmops-test/steps/quarantine-hmac-key-AbCdEf"
    ),
}
