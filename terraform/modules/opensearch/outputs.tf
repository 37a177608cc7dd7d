output "domain_arn" {
  value = aws_opensearch_domain.this.arn
}

output "endpoint" {
  description = "HTTPS endpoint of the domain (host name only)."
  value       = aws_opensearch_domain.this.endpoint
}
