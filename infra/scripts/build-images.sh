#!/usr/bin/env bash
# Build (and optionally push) neurite's container images from infra/docker/.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: build-images.sh [options] [IMAGE...]

IMAGE is one or more of: serve, cli, cli-gpu, lambda (default: serve cli).
Builds from the repository root with infra/docker/<image>.Dockerfile and tags
REGISTRY/neurite-<image>:TAG. Building again reuses the build cache, and tagging and pushing
the same image again change nothing, so reruns are safe.

Options:
  --registry REG     image name prefix (default: $NEURITE_REGISTRY, else localhost)
  --tag TAG          image tag (default: the workspace version in Cargo.toml)
  --engine E         docker (default when present), podman or buildah
  --platform P       target platform, e.g. linux/arm64 (Graviton Lambda); default: the
                     engine's own
  --push             push the tags after building
  --build-arg K=V    passed to every build (repeatable), e.g. RUNTIME_IMAGE=...
  --dry-run          print the commands; build nothing
  -h, --help         this help

Images:
  serve    neurite-serve on distroless (infra/docker/serve.Dockerfile)
  cli      the neurite CLI for training, tuning and retraining jobs (cli.Dockerfile)
  cli-gpu  the CLI on the CUDA 13 runtime (cli.Dockerfile, RUNTIME_IMAGE=nvidia/cuda:...)
  lambda   neurite-serve as a Lambda container image (lambda.Dockerfile); its platform
           must match the function's architecture (--platform linux/arm64 for arm64)

Examples:
  build-images.sh                                  # localhost/neurite-{serve,cli}:<version>
  build-images.sh --registry ghcr.io/acme --push serve cli cli-gpu
  build-images.sh --registry 123456789012.dkr.ecr.eu-west-1.amazonaws.com --platform linux/arm64 --push lambda
EOF
}

log() { printf 'build-images.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cuda_image="docker.io/nvidia/cuda:13.0.2-runtime-ubuntu24.04"
registry="${NEURITE_REGISTRY:-localhost}" tag="" engine="" platform="" push=0 dry_run=0
build_args=()
images=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --registry) registry="${2:?--registry needs a value}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --engine) engine="${2:?--engine needs a value}"; shift 2 ;;
    --platform) platform="${2:?--platform needs a value}"; shift 2 ;;
    --push) push=1; shift ;;
    --build-arg) build_args+=(--build-arg "${2:?--build-arg needs K=V}"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    serve | cli | cli-gpu | lambda) images+=("$1"); shift ;;
    *) die "unknown image $1 (serve, cli, cli-gpu, lambda)" ;;
  esac
done
[[ ${#images[@]} -gt 0 ]] || images=(serve cli)
if [[ -z "$tag" ]]; then
  tag="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
  [[ -n "$tag" ]] || die "no version in Cargo.toml: pass --tag"
fi
if [[ -z "$engine" ]]; then
  for e in docker podman buildah; do
    if command -v "$e" >/dev/null 2>&1; then engine="$e"; break; fi
  done
  [[ -n "$engine" || "$dry_run" == 1 ]] || die "no docker, podman or buildah found (--engine)"
  engine="${engine:-docker}"
fi
case "$engine" in
  docker | podman) build=("$engine" build) pushcmd=("$engine" push) ;;
  buildah) build=(buildah bud --format docker) pushcmd=(buildah push) ;;
  *) die "--engine: docker, podman or buildah" ;;
esac
[[ -n "$platform" ]] && build+=(--platform "$platform")

run() {
  if [[ "$dry_run" == 1 ]]; then show "$@"; else "$@"; fi
}

cd "$root"
for image in "${images[@]}"; do
  extra=()
  case "$image" in
    serve) dockerfile=infra/docker/serve.Dockerfile name=neurite-serve ;;
    cli) dockerfile=infra/docker/cli.Dockerfile name=neurite-cli ;;
    cli-gpu)
      dockerfile=infra/docker/cli.Dockerfile name=neurite-cli-gpu
      extra=(--build-arg "RUNTIME_IMAGE=$cuda_image")
      ;;
    lambda) dockerfile=infra/docker/lambda.Dockerfile name=neurite-lambda ;;
  esac
  ref="$registry/$name:$tag"
  log "building $ref from $dockerfile"
  run "${build[@]}" -f "$dockerfile" -t "$ref" "${extra[@]}" "${build_args[@]}" .
  if [[ "$push" == 1 ]]; then
    log "pushing $ref"
    run "${pushcmd[@]}" "$ref"
  fi
  printf '%s\n' "$ref"
done
