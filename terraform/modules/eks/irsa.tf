# Roles of the in-cluster workloads, each trusted only by its own service account.

locals {
  irsa = {
    # vLLM reads the base model and the served adapters, nothing else.
    vllm = { namespace = var.vllm_namespace, service_account = var.vllm_service_account }
    # KEDA's operator reads the batch's pending-requests metric to wake vLLM from zero replicas.
    keda = { namespace = var.keda_namespace, service_account = "keda-operator" }
  }
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = local.irsa
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each           = local.irsa
  name               = "${var.project}-eks-${each.key}-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume[each.key].json
}

data "aws_iam_policy_document" "vllm" {
  statement {
    sid       = "ReadModelAndAdapters"
    actions   = ["s3:GetObject"]
    resources = [for p in var.vllm_model_prefixes : "${var.models_bucket_arn}/${p}*"]
  }

  statement {
    sid       = "ListModelAndAdapters"
    actions   = ["s3:ListBucket"]
    resources = [var.models_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [for p in var.vllm_model_prefixes : "${p}*"]
    }
  }

  statement {
    sid       = "DecryptModelObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "keda" {
  #checkov:skip=CKV_AWS_356: CloudWatch metric reads take no resource ARN
  statement {
    sid       = "ReadScalingMetrics"
    actions   = ["cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics", "cloudwatch:ListMetrics"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "irsa" {
  for_each = local.irsa
  name     = "${var.project}-eks-${each.key}-${var.environment}"
  role     = aws_iam_role.irsa[each.key].id
  policy   = each.key == "vllm" ? data.aws_iam_policy_document.vllm.json : data.aws_iam_policy_document.keda.json
}
