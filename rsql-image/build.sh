#!/usr/bin/env bash
# Builds the rsqlflow job image and pushes it to the stack's ECR repository.
#
#   rsql-image/build.sh pin                      record SHA-256 sums of the pinned AWS RPMs
#   rsql-image/build.sh build [--target T]       build locally (T: rsql, the default, or native)
#   rsql-image/build.sh push --stack NAME [--target T] [--tag TAG] [--region R]
#                                                build, then push to the stack's RepositoryUri
#
# Needs docker (build, push), the AWS CLI (push), curl, sha256sum and openssl (pin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
versions="$here/versions.env"

die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

# shellcheck source-path=SCRIPTDIR source=versions.env
source "$versions"

pin() {
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  local odbc_url="https://s3.amazonaws.com/redshift-downloads/drivers/odbc/${ODBC_VERSION}/AmazonRedshiftODBC-64-bit-${ODBC_VERSION}.x86_64.rpm"
  local rsql_base="https://s3.amazonaws.com/redshift-downloads/amazon-redshift-rsql/${RSQL_VERSION}"
  local rsql_url="${rsql_base}/AmazonRedshiftRsql-${RSQL_VERSION}.rhel.x86_64.rpm"
  curl --proto '=https' --tlsv1.2 -fsSLo "$work/odbc.rpm" "$odbc_url" || die "cannot download $odbc_url"
  curl --proto '=https' --tlsv1.2 -fsSLo "$work/rsql.rpm" "$rsql_url" || die "cannot download $rsql_url"
  curl --proto '=https' --tlsv1.2 -fsSLo "$work/rsql.pem" "${rsql_base}/AmazonRedshiftRsql-${RSQL_VERSION}-certificate.pem" \
    || die "cannot download RSQL's signing certificate"
  curl --proto '=https' --tlsv1.2 -fsSLo "$work/rsql.sig" "${rsql_base}/AmazonRedshiftRsql-${RSQL_VERSION}-signature.bin" \
    || die "cannot download RSQL's signed hash"
  openssl x509 -in "$work/rsql.pem" -pubkey -noout > "$work/rsql.pub"
  openssl dgst -sha256 -verify "$work/rsql.pub" -signature "$work/rsql.sig" "$work/rsql.rpm" >/dev/null \
    || die "AmazonRedshiftRsql-${RSQL_VERSION} does not match AWS's signed hash"
  local odbc_sum rsql_sum
  odbc_sum="$(sha256sum "$work/odbc.rpm" | cut -d' ' -f1)"
  rsql_sum="$(sha256sum "$work/rsql.rpm" | cut -d' ' -f1)"
  # Write, then rename: versions.env is never left half-written.
  sed -e "s/^ODBC_SHA256=.*/ODBC_SHA256=${odbc_sum}/" -e "s/^RSQL_SHA256=.*/RSQL_SHA256=${rsql_sum}/" \
    "$versions" > "$versions.tmp"
  mv "$versions.tmp" "$versions"
  printf 'pinned ODBC %s (%s) and RSQL %s (%s, signature verified)\n' \
    "$ODBC_VERSION" "$odbc_sum" "$RSQL_VERSION" "$rsql_sum"
}

build() {
  local target="$1" image="$2"
  if [ "$target" = rsql ] && { [ -z "${ODBC_SHA256:-}" ] || [ -z "${RSQL_SHA256:-}" ]; }; then
    die "versions.env has no SHA-256 sums yet: run 'rsql-image/build.sh pin' first"
  fi
  docker build \
    --file "$here/Dockerfile" \
    --target "$target" \
    --platform linux/amd64 \
    --build-arg "ODBC_VERSION=${ODBC_VERSION}" \
    --build-arg "ODBC_SHA256=${ODBC_SHA256:-}" \
    --build-arg "RSQL_VERSION=${RSQL_VERSION}" \
    --build-arg "RSQL_SHA256=${RSQL_SHA256:-}" \
    --tag "$image" \
    "$root"
}

cmd="${1:-}"
[ -n "$cmd" ] || die "usage: build.sh pin | build [--target rsql|native] | push --stack NAME [--target T] [--tag TAG] [--region R]"
shift
target=rsql
tag=""
stack=""
region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?--target needs rsql or native}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --stack) stack="${2:?--stack needs a stack name}"; shift 2 ;;
    --region) region="${2:?--region needs a region}"; shift 2 ;;
    *) die "unknown option $1" ;;
  esac
done
case "$target" in rsql | native) ;; *) die "--target must be rsql or native, not $target" ;; esac
[ -n "$tag" ] || tag="$(git -C "$root" describe --tags --always --dirty)-$target"

case "$cmd" in
  pin) pin ;;
  build) build "$target" "rsqlflow:$tag" ;;
  push)
    [ -n "$stack" ] || die "push needs --stack (the stack deployed from template.yaml)"
    [ -n "$region" ] || die "push needs --region or AWS_REGION"
    repo="$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
      --query "Stacks[0].Outputs[?OutputKey=='RepositoryUri'].OutputValue" --output text)"
    [ -n "$repo" ] && [ "$repo" != None ] || die "stack $stack has no RepositoryUri output"
    build "$target" "$repo:$tag"
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "${repo%%/*}"
    docker push "$repo:$tag"
    printf 'pushed %s:%s; deploy with ImageTag=%s\n' "$repo" "$tag" "$tag"
    ;;
  *) die "unknown command $cmd" ;;
esac
