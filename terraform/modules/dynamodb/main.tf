# The summary cache the storefront reads: one item per product, replaced by every hourly batch, expired
# by DynamoDB when a product has had no new summary for the TTL the batch writes into `ttl_attribute`.

resource "aws_dynamodb_table" "summaries" {
  name                        = "${var.project}-summaries-${var.environment}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "product_id"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "product_id"
    type = "S"
  }

  ttl {
    attribute_name = var.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}
