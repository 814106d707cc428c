#!/usr/bin/env bash
# Build neurite-serve for AWS Lambda, package it with the model registry, deploy the SAM stack
# (infra/aws/template.yaml).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy-lambda.sh [options]

  1. cargo lambda build --release --arm64|--x86-64 -p neurite-serve   (target/lambda/neurite-serve/bootstrap)
  2. target/lambda-package/ = bootstrap + models/ (the selected models of the registry)
  3. sam deploy from infra/aws/ (template.yaml, samconfig.toml, --config-env ENV)
Deploying the same package and parameters again leaves the stack as it is (an empty change set
is not an error), so reruns are safe.

Options:
  --env ENV            samconfig.toml environment: default (stack neurite-serve-dev) or prod
  --arch A             arm64 (default) or x86_64; the binary is built for it
  --models DIR         registry to package (default: $NEURITE_MODELS, else models)
  --model NAME[,NAME]  package only these models (default: all); they are also the served set
  --memory MB          function memory (default 1024; Lambda gives one vCPU at 1769)
  --timeout S          seconds per invocation (default 29)
  --auth NONE|AWS_IAM  function URL auth type (default NONE: protect predictions with an API key)
  --reserved N         reserved concurrency, 0 for none (default 0)
  --skip-build         package the bootstrap already in target/lambda/neurite-serve/
  --bootstrap FILE     package this binary as bootstrap (built elsewhere; implies
                       --skip-build); it must match --arch
  --package-only       build and package, do not deploy (target/lambda-package/)
  --dry-run            print the commands; build and deploy nothing
  -h, --help           this help

Environment:
  NEURITE_API_KEY      the API key predictions must carry (passed as the NoEcho ApiKey
                       parameter); unset: predictions are open
  AWS_PROFILE, AWS_REGION   as for any AWS CLI call

Needs: cargo-lambda (pip install cargo-lambda==1.9.2), the AWS SAM CLI, AWS credentials; for
--arch arm64 the Rust target aarch64-unknown-linux-gnu (rustup target add ...).
EOF
}

log() { printf 'deploy-lambda.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
env_name=default arch=arm64 models="${NEURITE_MODELS:-models}" only="" memory=1024 timeout=29
auth=NONE reserved=0 skip_build=0 dry_run=0 package_only=0 bootstrap=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --env) env_name="${2:?--env needs a value}"; shift 2 ;;
    --arch) arch="${2:?--arch needs a value}"; shift 2 ;;
    --models) models="${2:?--models needs a value}"; shift 2 ;;
    --model) only="${2:?--model needs a value}"; shift 2 ;;
    --memory) memory="${2:?--memory needs a value}"; shift 2 ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
    --auth) auth="${2:?--auth needs a value}"; shift 2 ;;
    --reserved) reserved="${2:?--reserved needs a value}"; shift 2 ;;
    --skip-build) skip_build=1; shift ;;
    --bootstrap) bootstrap="${2:?--bootstrap needs a file}"; skip_build=1; shift 2 ;;
    --package-only) package_only=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done
case "$arch" in
  arm64) cl_arch=--arm64 rust_target=aarch64-unknown-linux-gnu ;;
  x86_64) cl_arch=--x86-64 rust_target=x86_64-unknown-linux-gnu ;;
  *) die "--arch: arm64 or x86_64" ;;
esac
case "$auth" in NONE | AWS_IAM) ;; *) die "--auth: NONE or AWS_IAM" ;; esac
[[ "$memory" =~ ^[0-9]+$ && "$timeout" =~ ^[0-9]+$ && "$reserved" =~ ^[0-9]+$ ]] \
  || die "--memory, --timeout and --reserved take whole numbers"
[[ "$models" == /* ]] || models="$PWD/$models"
[[ -d "$models" ]] || die "no model registry at $models (train a model first, or --models DIR)"

run() {
  if [[ "$dry_run" == 1 ]]; then show "$@"; else "$@"; fi
}

if [[ -z "$bootstrap" ]]; then
  bootstrap="$root/target/lambda/neurite-serve/bootstrap" # where cargo lambda build puts it
elif [[ "$bootstrap" != /* ]]; then
  bootstrap="$PWD/$bootstrap"
fi
cd "$root"
if [[ "$skip_build" == 0 ]]; then
  if [[ "$dry_run" == 0 ]]; then
    command -v cargo-lambda >/dev/null 2>&1 || die "cargo-lambda not found: pip install cargo-lambda==1.9.2"
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$rust_target"; then
      log "adding the Rust target $rust_target"
      rustup target add "$rust_target"
    fi
  fi
  log "building the bootstrap for $arch"
  run cargo lambda build --release --locked "$cl_arch" -p neurite-serve --bin neurite-serve
fi
[[ "$dry_run" == 1 || -x "$bootstrap" ]] || die "no executable $bootstrap (build without --skip-build)"

# The package: bootstrap at the root, the registry under models/ ($LAMBDA_TASK_ROOT/models).
pkg=target/lambda-package
names=()
if [[ -n "$only" ]]; then
  IFS=, read -r -a refs <<<"$only"
  for ref in "${refs[@]}"; do names+=("${ref%%@*}"); done
else
  for d in "$models"/*/; do [[ -d "$d" ]] && names+=("$(basename "$d")"); done
fi
[[ ${#names[@]} -gt 0 ]] || die "no model in $models"
for n in "${names[@]}"; do
  [[ -d "$models/$n" ]] || die "no model $n in $models"
done
log "packaging ${names[*]} from $models into $pkg"
run rm -rf "$pkg"
run mkdir -p "$pkg/models"
run cp "$bootstrap" "$pkg/bootstrap"
for n in "${names[@]}"; do
  run cp -R "$models/$n" "$pkg/models/$n"
done
if [[ "$dry_run" == 0 ]]; then
  # Training leftovers are not needed to serve: checkpoints and the write lock.
  find "$pkg/models" -type d -name checkpoints -prune -exec rm -rf {} +
  find "$pkg/models" -type f -name .lock -delete
  log "package: $(du -sh "$pkg" | cut -f1) (Lambda's limit: 250 MB unzipped)"
fi

if [[ "$package_only" == 1 ]]; then
  [[ "$dry_run" == 1 ]] || log "package ready: $root/$pkg (not deployed: --package-only)"
  exit 0
fi

params=("Architecture=$arch" "MemorySize=$memory" "Timeout=$timeout" "FunctionUrlAuthType=$auth"
  "ReservedConcurrency=$reserved" "ServedModels=$only")
if [[ -n "${NEURITE_API_KEY:-}" ]]; then
  params+=("ApiKey=$NEURITE_API_KEY")
else
  log "NEURITE_API_KEY is not set: predictions will be open (set it, or --auth AWS_IAM)"
  params+=("ApiKey=")
fi
deploy=(sam deploy --config-env "$env_name" --no-fail-on-empty-changeset --parameter-overrides "${params[@]}")
if [[ "$dry_run" == 1 ]]; then
  # Never print the key.
  printf '+ (cd infra/aws &&'; printf ' %q' "${deploy[@]//ApiKey=?*/ApiKey=***}"; printf ')\n'
  exit 0
fi
command -v sam >/dev/null 2>&1 || die "the AWS SAM CLI (sam) is not installed"
log "deploying (samconfig.toml environment: $env_name)"
(cd infra/aws && "${deploy[@]}")
