# Once per AWS account, before any environment: the bucket that holds every stack's Terraform state
# (locked with S3 lock files), the GitHub OIDC identity provider, and the roles terraform.yml assumes.
# It keeps its own state locally: run it by hand with administrator credentials, then keep
# terraform.tfstate safe (or move it into the bucket with `terraform init -migrate-state` after adding
# an s3 backend block).

terraform {
  required_version = ">= 1.10.0, < 2.0.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }
}

provider "aws" {
  region              = var.region
  allowed_account_ids = [var.account_id]
  default_tags {
    tags = {
      Project     = var.project
      Environment = "shared"
      ManagedBy   = "terraform"
      Repository  = var.github_repository
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  partition = data.aws_partition.current.partition
  account   = data.aws_caller_identity.current.account_id
}

data "aws_iam_policy_document" "state_key" {
  #checkov:skip=CKV_AWS_109: a key policy's Resource "*" means this key only
  #checkov:skip=CKV_AWS_111: a key policy's Resource "*" means this key only
  #checkov:skip=CKV_AWS_356: a key policy's Resource "*" means this key only
  statement {
    sid = "AccountAdministersAndIamGrantsUse"
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account}:root"]
    }
    actions = [
      "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
      "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
      "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
    ]
    resources = ["*"]
  }
}

resource "aws_kms_key" "state" {
  description             = "${var.project} Terraform state"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.state_key.json
}

resource "aws_kms_alias" "state" {
  name          = "alias/${var.project}-tfstate-${var.account_id}"
  target_key_id = aws_kms_key.state.key_id
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_144: cross-region replication of the state is not wanted; versioning keeps every revision
  #checkov:skip=CKV_AWS_18: only the Terraform roles touch this bucket, a few times a day; access logs would need a second, SSE-S3 bucket
  #checkov:skip=CKV2_AWS_62: nothing reacts to state changes
  bucket = "${var.project}-tfstate-${var.account_id}"
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.state.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "old-state-revisions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 365
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.state]
}

data "aws_iam_policy_document" "state_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket     = aws_s3_bucket.state.id
  policy     = data.aws_iam_policy_document.state_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.state]
}

# --- GitHub Actions --------------------------------------------------------------------------------

resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  # plan: pull requests, read-only. apply-<env>: jobs in the GitHub environment <env> (prod: approved).
  terraform_roles = merge(
    { plan = { subject = "repo:${var.github_repository}:pull_request", policy_arns = ["arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"] } },
    { for env in var.environments : "apply-${env}" => { subject = "repo:${var.github_repository}:environment:${env}", policy_arns = var.apply_policy_arns } },
  )
}

data "aws_iam_policy_document" "terraform_assume" {
  for_each = local.terraform_roles
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [each.value.subject]
    }
  }
}

resource "aws_iam_role" "terraform" {
  for_each           = local.terraform_roles
  name               = "${var.project}-terraform-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.terraform_assume[each.key].json
}

resource "aws_iam_role_policy_attachment" "terraform" {
  for_each   = { for pair in flatten([for role, r in local.terraform_roles : [for arn in r.policy_arns : { role = role, arn = arn }]]) : "${pair.role} ${pair.arn}" => pair }
  role       = aws_iam_role.terraform[each.value.role].name
  policy_arn = each.value.arn
}

# Every Terraform role reads and writes state and lock files (a plan takes the lock too).
data "aws_iam_policy_document" "state_access" {
  statement {
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }
  statement {
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/*"]
  }
  statement {
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.state.arn]
  }
}

resource "aws_iam_role_policy" "state_access" {
  for_each = local.terraform_roles
  name     = "${var.project}-terraform-state-${each.key}"
  role     = aws_iam_role.terraform[each.key].id
  policy   = data.aws_iam_policy_document.state_access.json
}
