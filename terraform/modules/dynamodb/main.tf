# The summary cache the storefront reads (src/common/summary_cache.py): one item per product and review
# language, replaced by every hourly batch unless the table holds a newer one, expired by DynamoDB when a
# product has had no new summary for the TTL the batch writes into `ttl_attribute` (readers check expiry
# themselves: DynamoDB deletes an expired item some time later). The module's `create_table` builds the
# same key schema for tests; tests/steps/common/test_summary_cache.py checks the two agree.

resource "aws_dynamodb_table" "summaries" {
  name                        = "${var.project}-summaries-${var.environment}"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "product_id"
  range_key                   = "language"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "product_id"
    type = "S"
  }

  attribute {
    name = "language"
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
