# What the heavy steps run with on SageMaker: the image repositories (task, training, evaluation), the
# role their processing and training jobs assume, and the security group of jobs placed in the VPC
# (the embedding step writes to the OpenSearch domain, which only answers inside the VPC).

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
}

resource "aws_ecr_repository" "this" {
  for_each             = toset(var.images)
  name                 = "${var.project}-${each.key}-${var.environment}"
  image_tag_mutability = "IMMUTABLE"
  image_scanning_configuration {
    scan_on_push = true
  }
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

# The key of the keyed hash that lets a quarantine row be matched to its source row without holding its
# raw text (ingestion.quarantine in config/). Terraform creates the secret empty under the steps' prefix,
# which the jobs' role reads (StepSecrets below); an operator puts the key once
# (`aws secretsmanager put-secret-value --secret-string "$(openssl rand -hex 32)"`). The transform step
# reads it itself, so the key is never in a job's environment or description.
resource "aws_secretsmanager_secret" "quarantine_hmac_key" {
  #checkov:skip=CKV2_AWS_57: rotating the key would change every stored hash; it is long-lived by design
  name                    = "${var.project}-${var.environment}/steps/quarantine-hmac-key"
  description             = "HMAC key of raw review texts in quarantine rows (${var.project} ${var.environment})"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 30
}

# Images are tagged with the commit of their inputs; untagged layers and old tags are cleaned up.
resource "aws_ecr_lifecycle_policy" "this" {
  for_each   = aws_ecr_repository.this
  repository = each.value.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the newest ${var.images_to_keep} images"
      selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.images_to_keep }
      action       = { type = "expire" }
    }]
  })
}

resource "aws_security_group" "jobs" {
  #checkov:skip=CKV2_AWS_5: attached by the SageMaker jobs the DAGs start (LLMOPS_SAGEMAKER_SECURITY_GROUP_IDS), not by Terraform
  name        = "${var.project}-sagemaker-jobs-${var.environment}"
  description = "SageMaker processing and training jobs of the heavy steps"
  vpc_id      = var.vpc_id

  egress {
    description = "AWS APIs through the VPC endpoints and NAT, the OpenSearch domain, package-free HTTPS"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    description = "Distributed training between the instances of one job"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }

  ingress {
    description = "Distributed training between the instances of one job"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    self        = true
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_iam_role" "jobs" {
  name               = "${var.project}-sagemaker-jobs-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

data "aws_iam_policy_document" "jobs" {
  #checkov:skip=CKV_AWS_356: the statements on "*" take no resource (ecr:GetAuthorizationToken, PutMetricData, ec2:Describe*) or are the ENI actions SageMaker needs for VPC jobs, limited to this VPC by condition
  #checkov:skip=CKV_AWS_111: writes on "*" are PutMetricData (namespace condition) and VPC ENIs (ec2:Vpc condition)
  statement {
    sid       = "LakeObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.lake_bucket_arn}/lake/*", "${var.lake_bucket_arn}/dvc/*"]
  }

  statement {
    sid       = "ListTheLake"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid       = "ReadModels"
    actions   = ["s3:GetObject"]
    resources = ["${var.models_bucket_arn}/*"]
  }

  # serving/*: registration exports the adapter an alias points to where the vLLM pods load it at start.
  statement {
    sid       = "WriteTrainingOutputs"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.models_bucket_arn}/adapters/*", "${var.models_bucket_arn}/checkpoints/*", "${var.models_bucket_arn}/evaluation/*", "${var.models_bucket_arn}/serving/*"]
  }

  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [var.models_bucket_arn]
  }

  statement {
    sid       = "UseTheDataKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "PullTheImages"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [for r in aws_ecr_repository.this : r.arn]
  }

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid       = "JobLogs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/sagemaker/*"]
  }

  statement {
    sid       = "JobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]
    condition {
      test     = "StringLike"
      variable = "cloudwatch:namespace"
      values   = ["/aws/sagemaker/*", var.metrics_namespace]
    }
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

  # The summary cache (common.summary_cache): batch inference writes it with conditional PutItems and
  # reads it back; forgetting scans it for the summaries citing a review and deletes them in batches.
  # DescribeTable: the cache checks the table's key schema before its first request.
  statement {
    sid = "SummaryCache"
    actions = [
      "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:Scan",
      "dynamodb:BatchWriteItem",
    ]
    resources = [var.summary_cache_table_arn]
  }

  # Credentials the steps need that are not AWS roles (the DVC registry's git remote, the MLflow server).
  statement {
    sid       = "StepSecrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = ["arn:${local.partition}:secretsmanager:${local.region}:${local.account}:secret:${var.project}-${var.environment}/steps/*"]
  }

  # SageMaker attaches network interfaces to jobs that run in the VPC.
  statement {
    sid = "VpcJobNetworkInterfaces"
    actions = [
      "ec2:CreateNetworkInterface", "ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface",
      "ec2:DeleteNetworkInterfacePermission",
    ]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = ["arn:${local.partition}:ec2:${local.region}:${local.account}:vpc/${var.vpc_id}"]
    }
  }

  statement {
    sid = "VpcJobDescribe"
    actions = [
      "ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeDhcpOptions", "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "jobs" {
  name   = "${var.project}-sagemaker-jobs-${var.environment}"
  role   = aws_iam_role.jobs.id
  policy = data.aws_iam_policy_document.jobs.json
}
