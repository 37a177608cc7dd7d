# The VPC: public subnets only for the NAT gateways, and private subnets per tier, each tier in its own
# address range so that security rules can name a tier by CIDR (the vLLM load balancer admits the MWAA
# tier only). VPC endpoints keep AWS API traffic (S3, ECR, STS, logs, SageMaker, Bedrock, ...) off the NAT.

data "aws_availability_zones" "available" {
  state = "available"
  # A closed set: the subnets never move because AWS opened another zone in the region.
  filter {
    name   = "zone-name"
    values = [for suffix in var.zone_suffixes : "${data.aws_region.current.name}${suffix}"]
  }
}

data "aws_region" "current" {}

locals {
  name = "${var.project}-${var.environment}"
  azs  = slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)

  # /20 blocks of the VPC range: 0-2 public, 3-4 MWAA (it takes exactly two), 5-7 EKS, 8-10 data.
  subnets = merge(
    { for i, az in local.azs : "public-${az}" => { tier = "public", az = az, cidr = cidrsubnet(var.cidr, 4, i) } },
    { for i, az in slice(local.azs, 0, 2) : "mwaa-${az}" => { tier = "mwaa", az = az, cidr = cidrsubnet(var.cidr, 4, 3 + i) } },
    { for i, az in local.azs : "eks-${az}" => { tier = "eks", az = az, cidr = cidrsubnet(var.cidr, 4, 5 + i) } },
    { for i, az in local.azs : "data-${az}" => { tier = "data", az = az, cidr = cidrsubnet(var.cidr, 4, 8 + i) } },
  )
  # Karpenter finds the GPU nodes' subnets, and Kubernetes the internal load balancer's, by these tags.
  tier_tags = {
    public = { "kubernetes.io/role/elb" = "1" }
    mwaa   = {}
    eks    = { "karpenter.sh/discovery" = var.cluster_name, "kubernetes.io/role/internal-elb" = "1" }
    data   = {}
  }
  nat_azs = var.single_nat_gateway ? [local.azs[0]] : local.azs
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = { Name = local.name }
}

# No rule at all: nothing may use the default security group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
}

resource "aws_subnet" "this" {
  for_each                = local.subnets
  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.value.az
  cidr_block              = each.value.cidr
  map_public_ip_on_launch = false
  tags                    = merge({ Name = "${var.project}-${each.key}-${var.environment}", Tier = each.value.tier }, local.tier_tags[each.value.tier])
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = local.name }
}

resource "aws_eip" "nat" {
  for_each = toset(local.nat_azs)
  domain   = "vpc"
  tags     = { Name = "${var.project}-nat-${each.key}-${var.environment}" }
}

resource "aws_nat_gateway" "this" {
  for_each      = toset(local.nat_azs)
  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.this["public-${each.key}"].id
  tags          = { Name = "${var.project}-nat-${each.key}-${var.environment}" }
  depends_on    = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = { Name = "${var.project}-public-${var.environment}" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

# One private route table per zone, through that zone's NAT gateway (or the single one).
resource "aws_route_table" "private" {
  for_each = toset(local.azs)
  vpc_id   = aws_vpc.this.id
  tags     = { Name = "${var.project}-private-${each.key}-${var.environment}" }
}

resource "aws_route" "private_nat" {
  for_each               = toset(local.azs)
  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? local.azs[0] : each.key].id
}

resource "aws_route_table_association" "this" {
  for_each       = local.subnets
  subnet_id      = aws_subnet.this[each.key].id
  route_table_id = each.value.tier == "public" ? aws_route_table.public.id : aws_route_table.private[each.value.az].id
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for rt in aws_route_table.private : rt.id]
  tags              = { Name = "${var.project}-s3-${var.environment}" }
}

resource "aws_security_group" "endpoints" {
  name        = "${var.project}-endpoints-${var.environment}"
  description = "HTTPS from inside the VPC to the interface endpoints"
  vpc_id      = aws_vpc.this.id

  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [var.cidr]
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for k, s in local.subnets : aws_subnet.this[k].id if s.tier == "data"]
  security_group_ids  = [aws_security_group.endpoints.id]
  tags                = { Name = "${var.project}-${each.key}-${var.environment}" }
}

# Names inside the VPC that do not change when what is behind them does (the vLLM load balancer).
resource "aws_route53_zone" "internal" {
  #checkov:skip=CKV2_AWS_38: DNSSEC signing applies to public hosted zones; this zone is private to the VPC
  #checkov:skip=CKV2_AWS_39: query logging is for public hosted zones; this zone only answers inside the VPC
  name    = "${var.environment}.${var.project}.internal"
  comment = "Private names of ${local.name}"
  vpc {
    vpc_id = aws_vpc.this.id
  }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/${var.project}/vpc-flow-logs-${var.environment}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.project}-vpc-flow-logs-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "${var.project}-vpc-flow-logs-${var.environment}"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn
}
