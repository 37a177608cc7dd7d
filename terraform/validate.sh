#!/usr/bin/env bash
# `terraform validate` of every root stack, offline, from a provider mirror (a `-plugin-dir` layout:
# <dir>/registry.terraform.io/hashicorp/<name>/<version>/<os_arch>/). A stack whose providers are not
# all in the mirror is skipped with a message; so is everything when terraform or the mirror is absent.
# terraform.yml validates every stack against the registry.
# Works on a copy of terraform/ and config/ (the stacks read config/thresholds.yaml), so that init
# leaves no .terraform folder or lock file in the working tree.
# Usage: terraform/validate.sh [PLUGIN_DIR]   (default /opt/tf-plugins)
set -euo pipefail
cd "$(dirname "$0")/.."
mirror=${1:-/opt/tf-plugins}

if ! command -v terraform >/dev/null; then
  echo "terraform not on PATH: skipping terraform validate"
  exit 0
fi
if [ ! -d "$mirror/registry.terraform.io" ]; then
  echo "no provider mirror at $mirror: skipping terraform validate (terraform.yml validates online)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r terraform config "$work/"
export TF_IN_AUTOMATION=1 TF_INPUT=0 TF_CLI_CONFIG_FILE=/dev/null

status=0
cd terraform
for root in bootstrap environments/*/ environments/*/serving/; do
  root=${root%/}
  missing=()
  # The providers a root stack requires: hashicorp/<name> with an exact version.
  while read -r name version; do
    if ! compgen -G "$mirror/registry.terraform.io/hashicorp/$name/$version/*" >/dev/null; then
      missing+=("hashicorp/$name $version")
    fi
  done < <(awk '/source *= *"hashicorp\//{split($0,a,"\""); split(a[2],b,"/"); name=b[2]}
                /version *= *"/{if (name) {split($0,a,"\""); print name, a[2]; name=""}}' "$root"/*.tf)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "skip   $root: not in the provider mirror: ${missing[*]}"
    continue
  fi
  if ! (cd "$work/terraform/$root" && terraform init -backend=false -plugin-dir="$mirror" >init.log 2>&1); then
    cat "$work/terraform/$root/init.log"
    echo "FAILED $root (init)"
    status=1
  elif (cd "$work/terraform/$root" && terraform validate -no-color >validate.log 2>&1); then
    echo "valid  $root"
  else
    cat "$work/terraform/$root/validate.log"
    echo "FAILED $root"
    status=1
  fi
done
exit $status
