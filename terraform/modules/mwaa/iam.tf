# The execution role: exactly what the DAGs do and what MWAA itself needs, nothing account-wide.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.project}-mwaa-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "execution" {
  #checkov:skip=CKV_AWS_356: the statements on "*" are actions that take no resource (PutMetricData, DescribeLogGroups, GetAccountPublicAccessBlock, ListProcessingJobs/ListTrainingJobs), each narrowed by a condition where one exists
  #checkov:skip=CKV_AWS_111: the only write on "*" is cloudwatch:PutMetricData, limited to the project's namespaces by condition
  statement {
    sid       = "MwaaPublishesItsMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = ["arn:${local.partition}:airflow:${local.region}:${local.account}:environment/${local.name}"]
  }

  statement {
    sid       = "ReadTheMwaaBucket"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"]
    resources = [var.mwaa_bucket_arn, "${var.mwaa_bucket_arn}/*"]
  }

  statement {
    sid       = "MwaaChecksPublicAccess"
    actions   = ["s3:GetAccountPublicAccessBlock"]
    resources = ["*"]
  }

  statement {
    sid = "AirflowLogs"
    actions = [
      "logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents",
      "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults",
    ]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:airflow-${local.name}-*"]
  }

  statement {
    sid       = "ListLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }

  statement {
    sid       = "CeleryQueue"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["arn:${local.partition}:sqs:${local.region}:*:airflow-celery-*"]
  }

  statement {
    sid       = "MetricsOfAirflowAndThePipelines"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA", var.metrics_namespace]
    }
  }

  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [var.kms_key_arn]
  }

  # The lake: the DAG-side tasks read and write partitions, run scratch, lineage and the DVC remote.
  statement {
    sid       = "LakeObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [for p in var.lake_prefixes : "${var.lake_bucket_arn}/${p}*"]
  }

  statement {
    sid       = "ListTheLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in var.lake_prefixes : "${p}*"]
    }
  }

  # Models: read checkpoints and adapters; publish the champion and challenger copies vLLM serves.
  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = ["${var.models_bucket_arn}/*"]
  }

  statement {
    sid       = "PublishServedAdapters"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.models_bucket_arn}/serving/*"]
  }

  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [var.models_bucket_arn]
  }

  # SageMaker: start, watch and stop the heavy steps' jobs, passing only the jobs' own role.
  statement {
    sid = "SageMakerJobs"
    actions = [
      "sagemaker:CreateProcessingJob", "sagemaker:DescribeProcessingJob", "sagemaker:StopProcessingJob",
      "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
      "sagemaker:AddTags", "sagemaker:ListTags",
    ]
    resources = [
      "arn:${local.partition}:sagemaker:${local.region}:${local.account}:processing-job/*",
      "arn:${local.partition}:sagemaker:${local.region}:${local.account}:training-job/*",
    ]
  }

  statement {
    sid       = "FindSageMakerJobsByName"
    actions   = ["sagemaker:ListProcessingJobs", "sagemaker:ListTrainingJobs"]
    resources = ["*"]
  }

  statement {
    sid       = "PassOnlyTheJobRole"
    actions   = ["iam:PassRole"]
    resources = [var.sagemaker_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["sagemaker.amazonaws.com"]
    }
  }

  statement {
    sid     = "SageMakerJobLogs"
    actions = ["logs:GetLogEvents", "logs:DescribeLogStreams"]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/sagemaker/ProcessingJobs:*",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/sagemaker/TrainingJobs:*",
    ]
  }

  # What common.summary_cache calls, for tasks that run it on a worker; the heavy steps' role (batch
  # inference, forgetting) has the same statement in modules/sagemaker.
  statement {
    sid = "SummaryCache"
    actions = [
      "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:Scan",
      "dynamodb:BatchWriteItem",
    ]
    resources = [var.summary_cache_table_arn]
  }

  statement {
    sid       = "VectorIndex"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"]
    resources = ["${var.opensearch_domain_arn}/*"]
  }

  statement {
    sid       = "BedrockConfiguredModels"
    actions   = ["bedrock:InvokeModel"]
    resources = [for m in var.bedrock_model_ids : "arn:${local.partition}:bedrock:${local.region}::foundation-model/${m}"]
  }

  statement {
    sid       = "Alerts"
    actions   = ["sns:Publish"]
    resources = var.alert_topic_arns
  }

  statement {
    sid       = "ConnectionsAndVariables"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${local.secrets_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.project}-mwaa-${var.environment}"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Track runs and register models on the MLflow server (the policy lives with the server).
resource "aws_iam_role_policy_attachment" "mlflow_client" {
  role       = aws_iam_role.execution.name
  policy_arn = var.mlflow_client_policy_arn
}
