# The buckets: the data lake (raw, staging, clean, quarantine partitions and the DVC remote under
# dvc/), the models (base weights, Detoxify checkpoints, LoRA adapters, the serving copies of champion
# and challenger), the MWAA bucket (DAGs, requirements, startup script; MWAA requires versioning), and
# the bucket that receives the others' access logs.

data "aws_caller_identity" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
}

module "lake" {
  source                            = "../s3_bucket"
  name                              = "${var.project}-lake-${local.account}-${var.environment}"
  kms_key_arn                       = var.kms_key_arn
  access_log_bucket                 = aws_s3_bucket.logs.id
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
  # Raw extracts hold unredacted review text, so they go first; staging is the scratch space of runs
  # that stopped before their commit; quarantine (redacted previews and keyed hashes, never versioned
  # in DVC) is kept long enough to review and reprocess. The raw and quarantine days are
  # `ingestion.retention` of config/pipeline.yaml (terraform/environments/*/main.tf), which the local
  # lake's cleanup reads too (pipelines.ingestion.retention).
  expire_prefixes = {
    "lake/raw/"        = var.raw_retention_days
    "lake/staging/"    = var.staging_retention_days
    "lake/quarantine/" = var.quarantine_retention_days
  }
}

module "models" {
  source                            = "../s3_bucket"
  name                              = "${var.project}-models-${local.account}-${var.environment}"
  kms_key_arn                       = var.kms_key_arn
  access_log_bucket                 = aws_s3_bucket.logs.id
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
}

module "mwaa" {
  source = "../s3_bucket"
  # MWAA only accepts a source bucket whose name starts with "airflow-".
  name                              = "airflow-${var.project}-${local.account}-${var.environment}"
  kms_key_arn                       = var.kms_key_arn
  access_log_bucket                 = aws_s3_bucket.logs.id
  noncurrent_version_retention_days = var.noncurrent_version_retention_days
}

# --- The access-log bucket ------------------------------------------------------------------------
# S3 delivers server access logs only to a bucket whose default encryption is SSE-S3, so this is the
# one bucket encrypted with S3's own key rather than the project's KMS key. It holds no data.

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_145: S3 server access log delivery requires SSE-S3 on the target bucket
  #checkov:skip=CKV_AWS_18: this is the access-log bucket; logging it into itself would loop
  #checkov:skip=CKV_AWS_144: access logs are not replicated to another region
  #checkov:skip=CKV2_AWS_62: nothing reacts to log objects
  bucket = "${var.project}-access-logs-${local.account}-${var.environment}"
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    resources = [aws_s3_bucket.logs.arn, "${aws_s3_bucket.logs.arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "S3ServerAccessLogDelivery"
    actions = ["s3:PutObject"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    resources = ["${aws_s3_bucket.logs.arn}/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.logs.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    id     = "expire-access-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.access_log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
  depends_on = [aws_s3_bucket_versioning.logs]
}
