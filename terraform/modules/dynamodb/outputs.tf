output "table_name" {
  value = aws_dynamodb_table.summaries.name
}

output "table_arn" {
  value = aws_dynamodb_table.summaries.arn
}

output "ttl_attribute" {
  value = var.ttl_attribute
}
