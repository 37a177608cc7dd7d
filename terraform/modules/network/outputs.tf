output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr" {
  value = aws_vpc.this.cidr_block
}

output "mwaa_subnet_ids" {
  value = [for k, s in local.subnets : aws_subnet.this[k].id if s.tier == "mwaa"]
}

output "mwaa_subnet_cidrs" {
  description = "The only sources the vLLM load balancer admits."
  value       = [for k, s in local.subnets : s.cidr if s.tier == "mwaa"]
}

output "eks_subnet_ids" {
  value = [for k, s in local.subnets : aws_subnet.this[k].id if s.tier == "eks"]
}

output "data_subnet_ids" {
  value = [for k, s in local.subnets : aws_subnet.this[k].id if s.tier == "data"]
}

output "internal_zone_id" {
  value = aws_route53_zone.internal.zone_id
}

output "internal_zone_name" {
  value = aws_route53_zone.internal.name
}
