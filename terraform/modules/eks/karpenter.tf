# The AWS side of Karpenter: its controller role (IRSA) and the queue through which EC2 tells it about
# spot interruptions and scheduled maintenance, so it drains a GPU node before the node disappears.
# Every write it may do is limited to resources tagged as this cluster's.

resource "aws_sqs_queue" "karpenter" {
  name                      = "${var.project}-eks-karpenter-${var.environment}"
  message_retention_seconds = 300
  kms_master_key_id         = var.kms_key_arn
}

data "aws_iam_policy_document" "karpenter_queue" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.karpenter.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com", "sqs.amazonaws.com"]
    }
  }
  statement {
    sid       = "DenyHTTP"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.karpenter.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "karpenter" {
  queue_url = aws_sqs_queue.karpenter.url
  policy    = data.aws_iam_policy_document.karpenter_queue.json
}

locals {
  karpenter_events = {
    health    = { source = ["aws.health"], "detail-type" = ["AWS Health Event"] }
    spot      = { source = ["aws.ec2"], "detail-type" = ["EC2 Spot Instance Interruption Warning"] }
    rebalance = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance Rebalance Recommendation"] }
    state     = { source = ["aws.ec2"], "detail-type" = ["EC2 Instance State-change Notification"] }
  }
}

resource "aws_cloudwatch_event_rule" "karpenter" {
  for_each      = local.karpenter_events
  name          = "${var.project}-karpenter-${each.key}-${var.environment}"
  event_pattern = jsonencode(each.value)
}

resource "aws_cloudwatch_event_target" "karpenter" {
  for_each = local.karpenter_events
  rule     = aws_cloudwatch_event_rule.karpenter[each.key].name
  arn      = aws_sqs_queue.karpenter.arn
}

data "aws_iam_policy_document" "karpenter_assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:sub"
      values   = ["system:serviceaccount:${var.karpenter_namespace}:karpenter"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.oidc_host}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "karpenter" {
  name               = "${var.project}-eks-karpenter-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.karpenter_assume.json
}

locals {
  ec2_arn          = "arn:${local.partition}:ec2:${local.region}"
  cluster_tag      = "aws:RequestTag/kubernetes.io/cluster/${var.cluster_name}"
  cluster_res_tag  = "aws:ResourceTag/kubernetes.io/cluster/${var.cluster_name}"
  launched_by_pool = ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"]
}

data "aws_iam_policy_document" "karpenter" {
  #checkov:skip=CKV_AWS_356: Describe*, pricing:GetProducts and the EC2 launch actions on typed ARNs with cluster-tag conditions are what Karpenter needs to choose and launch instances
  #checkov:skip=CKV_AWS_111: EC2 writes either require this cluster's tag or name the shared resources (AMIs, subnets, security groups) a tagged launch uses
  statement {
    sid       = "LaunchFromSharedResources"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = [for t in ["image", "snapshot", "security-group", "subnet", "capacity-reservation"] : "${local.ec2_arn}:*:${t}/*"]
  }

  statement {
    sid       = "LaunchFromOwnLaunchTemplates"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet"]
    resources = ["${local.ec2_arn}:*:launch-template/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_res_tag
      values   = ["owned"]
    }
  }

  statement {
    sid       = "CreateTaggedResources"
    actions   = ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"]
    resources = [for t in local.launched_by_pool : "${local.ec2_arn}:*:${t}/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:RequestTag/karpenter.sh/nodepool"
      values   = ["*"]
    }
  }

  statement {
    sid       = "TagOnCreate"
    actions   = ["ec2:CreateTags"]
    resources = [for t in local.launched_by_pool : "${local.ec2_arn}:*:${t}/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_tag
      values   = ["owned"]
    }
    condition {
      test     = "StringEquals"
      variable = "ec2:CreateAction"
      values   = ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]
    }
  }

  statement {
    sid       = "TagOwnInstances"
    actions   = ["ec2:CreateTags"]
    resources = ["${local.ec2_arn}:*:instance/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_res_tag
      values   = ["owned"]
    }
  }

  statement {
    sid       = "DeleteOwnInstancesAndTemplates"
    actions   = ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"]
    resources = ["${local.ec2_arn}:*:instance/*", "${local.ec2_arn}:*:launch-template/*"]
    condition {
      test     = "StringEquals"
      variable = local.cluster_res_tag
      values   = ["owned"]
    }
  }

  statement {
    sid = "ReadTheRegion"
    actions = [
      "ec2:DescribeAvailabilityZones", "ec2:DescribeImages", "ec2:DescribeInstances",
      "ec2:DescribeInstanceTypeOfferings", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplates",
      "ec2:DescribeSecurityGroups", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
      "ec2:DescribeCapacityReservations",
    ]
    resources = ["*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestedRegion"
      values   = [local.region]
    }
  }

  statement {
    sid       = "ReadAmiParameters"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:${local.partition}:ssm:${local.region}::parameter/aws/service/*"]
  }

  statement {
    sid       = "ReadPrices"
    actions   = ["pricing:GetProducts"]
    resources = ["*"]
  }

  statement {
    sid       = "InterruptionQueue"
    actions   = ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]
    resources = [aws_sqs_queue.karpenter.arn]
  }

  statement {
    sid       = "DecryptInterruptionMessages"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }

  statement {
    sid       = "PassTheNodeRole"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.node["gpu"].arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ec2.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadTheNodeInstanceProfile"
    actions   = ["iam:GetInstanceProfile"]
    resources = [aws_iam_instance_profile.gpu_node.arn]
  }

  statement {
    sid       = "DiscoverTheApiServer"
    actions   = ["eks:DescribeCluster"]
    resources = [aws_eks_cluster.this.arn]
  }
}

resource "aws_iam_role_policy" "karpenter" {
  name   = "${var.project}-eks-karpenter-${var.environment}"
  role   = aws_iam_role.karpenter.id
  policy = data.aws_iam_policy_document.karpenter.json
}
