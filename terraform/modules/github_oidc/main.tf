# Roles the GitHub Actions workflows assume with OIDC, one set per environment. A role trusts only jobs
# of this repository that run in the GitHub environment of the same name, so prod credentials exist only
# after prod's required reviewers approved the job.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

# Created once per account by terraform/bootstrap.
data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  roles     = toset(["deploy-dags", "build-images"])
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [data.aws_iam_openid_connect_provider.github.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.environment}"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each             = local.roles
  name                 = "${var.project}-github-${each.key}-${var.environment}"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

# deploy-dags: sync the bundle, upload versioned requirements and startup script, pin them on the
# environment, smoke-test through the Airflow REST API as a Viewer.
data "aws_iam_policy_document" "deploy_dags" {
  statement {
    sid       = "ListTheMwaaBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketVersioning"]
    resources = [var.mwaa_bucket_arn]
  }

  statement {
    sid       = "WriteTheBundle"
    actions   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.mwaa_bucket_arn}/*"]
  }

  statement {
    sid       = "BucketKey"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "PinVersionsOnTheEnvironment"
    actions   = ["airflow:GetEnvironment", "airflow:UpdateEnvironment"]
    resources = [var.mwaa_environment_arn]
  }

  statement {
    sid       = "SmokeTestAsViewer"
    actions   = ["airflow:InvokeRestApi"]
    resources = ["arn:${local.partition}:airflow:${local.region}:${local.account}:role/${var.mwaa_environment_name}/Viewer"]
  }

  statement {
    sid       = "UpdateKeepsTheExecutionRole"
    actions   = ["iam:PassRole"]
    resources = [var.mwaa_execution_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["airflow.amazonaws.com"]
    }
  }

  statement {
    sid       = "CheckTheImagesExist"
    actions   = ["ecr:DescribeImages"]
    resources = var.repository_arns
  }
}

# build-images: push the images, tagged with the commit of their inputs.
data "aws_iam_policy_document" "build_images" {
  #checkov:skip=CKV_AWS_356: ecr:GetAuthorizationToken is account-wide and takes no resource ARN
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PushTheImages"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
      "ecr:DescribeImages",
    ]
    resources = var.repository_arns
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.roles
  name     = "${var.project}-github-${each.key}-${var.environment}"
  role     = aws_iam_role.this[each.key].id
  policy   = each.key == "deploy-dags" ? data.aws_iam_policy_document.deploy_dags.json : data.aws_iam_policy_document.build_images.json
}
