# The MLflow tracking server and model registry: SageMaker-managed MLflow, artifacts under mlflow/ of
# the models bucket. Clients (MWAA tasks and the jobs) use the server's ARN as tracking URI through the
# sagemaker-mlflow plugin, and write run artifacts to the artifact store themselves; the
# `mlflow_client` policy grants exactly that, and both roles carry it.

locals {
  mlflow_artifacts = "${var.models_bucket_arn}/mlflow"
}

data "aws_iam_policy_document" "mlflow_server_assume" {
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

resource "aws_iam_role" "mlflow_server" {
  name               = "${var.project}-mlflow-server-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.mlflow_server_assume.json
}

data "aws_iam_policy_document" "mlflow_artifacts" {
  statement {
    sid       = "ArtifactObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.mlflow_artifacts}/*"]
  }
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = [var.models_bucket_arn]
  }
  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "mlflow_server" {
  name   = "${var.project}-mlflow-server-${var.environment}"
  role   = aws_iam_role.mlflow_server.id
  policy = data.aws_iam_policy_document.mlflow_artifacts.json
}

resource "aws_sagemaker_mlflow_tracking_server" "this" {
  tracking_server_name         = "${var.project}-${var.environment}"
  tracking_server_size         = var.mlflow_server_size
  artifact_store_uri           = "s3://${replace(local.mlflow_artifacts, "arn:${local.partition}:s3:::", "")}/"
  role_arn                     = aws_iam_role.mlflow_server.arn
  automatic_model_registration = false
  depends_on                   = [aws_iam_role_policy.mlflow_server]
}

data "aws_iam_policy_document" "mlflow_client" {
  statement {
    sid = "TrackAndRegister"
    actions = [
      "sagemaker-mlflow:Get*", "sagemaker-mlflow:Search*", "sagemaker-mlflow:ListArtifacts",
      "sagemaker-mlflow:CreateExperiment", "sagemaker-mlflow:UpdateExperiment", "sagemaker-mlflow:SetExperimentTag",
      "sagemaker-mlflow:CreateRun", "sagemaker-mlflow:UpdateRun", "sagemaker-mlflow:SetTag", "sagemaker-mlflow:DeleteTag",
      "sagemaker-mlflow:LogMetric", "sagemaker-mlflow:LogParam", "sagemaker-mlflow:LogBatch",
      "sagemaker-mlflow:LogInputs", "sagemaker-mlflow:LogOutputs", "sagemaker-mlflow:LogModel",
      "sagemaker-mlflow:LogLoggedModelParams", "sagemaker-mlflow:SetLoggedModelTags",
      "sagemaker-mlflow:FinalizeLoggedModel", "sagemaker-mlflow:CreateRegisteredModel",
      "sagemaker-mlflow:UpdateRegisteredModel", "sagemaker-mlflow:SetRegisteredModelTag",
      "sagemaker-mlflow:CreateModelVersion", "sagemaker-mlflow:UpdateModelVersion",
      "sagemaker-mlflow:SetModelVersionTag", "sagemaker-mlflow:SetRegisteredModelAlias",
      "sagemaker-mlflow:DeleteRegisteredModelAlias", "sagemaker:DescribeMlflowTrackingServer",
    ]
    resources = [aws_sagemaker_mlflow_tracking_server.this.arn]
  }
  statement {
    sid       = "ArtifactObjects"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${local.mlflow_artifacts}/*"]
  }
  statement {
    sid       = "ListArtifacts"
    actions   = ["s3:ListBucket"]
    resources = [var.models_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["mlflow/*"]
    }
  }
  statement {
    sid       = "ArtifactKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_policy" "mlflow_client" {
  name        = "${var.project}-mlflow-client-${var.environment}"
  description = "Track runs and register models on the ${var.project} ${var.environment} MLflow server"
  policy      = data.aws_iam_policy_document.mlflow_client.json
}

resource "aws_iam_role_policy_attachment" "jobs_mlflow_client" {
  role       = aws_iam_role.jobs.name
  policy_arn = aws_iam_policy.mlflow_client.arn
}
