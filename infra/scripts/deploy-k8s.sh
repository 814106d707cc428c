#!/usr/bin/env bash
# Deploy neurite to Kubernetes from a Kustomize overlay (infra/k8s/overlays/<env>).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: deploy-k8s.sh ENV [options]

ENV is an overlay of infra/k8s/overlays: dev, prod or prod-gpu.

  1. kubectl kustomize infra/k8s/overlays/ENV   (render; with --registry/--tag, image names
     and tags are replaced in the rendered manifests)
  2. kubectl apply --server-side   everything but the one-shot Jobs (namespace, config,
     volume, server, autoscaler, disruption budget, network policies, retraining CronJob)
  3. kubectl rollout status deployment/neurite-serve
  4. with --run train|tune: delete the previous Job of that name, apply it again, and with
     --wait wait for it to complete
Applying the same manifests again changes nothing, so reruns are safe; a Job runs again only
when asked with --run.

Options:
  --registry REG   image name prefix replacing the overlay's (e.g. ghcr.io/acme)
  --tag TAG        image tag replacing the overlay's
  --context CTX    kubectl context (default: the current one)
  --run JOB        train or tune: (re)run that Job after the deployment
  --wait           with --run: wait for the Job to complete (default timeout 6h)
  --timeout T      timeout for the rollout and --wait (kubectl duration, default 10m / 6h)
  --dry-run        render and print the manifests and the kubectl commands; contact no cluster
  -h, --help       this help

Examples:
  deploy-k8s.sh dev --run train --wait
  deploy-k8s.sh prod --registry ghcr.io/acme --tag 0.1.0
  deploy-k8s.sh prod-gpu --tag 0.2.0 --run train
EOF
}

log() { printf 'deploy-k8s.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
show() { printf '+'; printf ' %q' "$@"; printf '\n'; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
env_name="" registry="" tag="" context="" job="" wait=0 timeout="" dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --registry) registry="${2:?--registry needs a value}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a value}"; shift 2 ;;
    --context) context="${2:?--context needs a value}"; shift 2 ;;
    --run) job="${2:?--run needs train or tune}"; shift 2 ;;
    --wait) wait=1; shift ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ -z "$env_name" ]] || die "one environment only"; env_name="$1"; shift ;;
  esac
done
[[ -n "$env_name" ]] || { usage >&2; exit 2; }
overlay="$root/infra/k8s/overlays/$env_name"
[[ -f "$overlay/kustomization.yaml" ]] || die "no overlay $overlay"
case "$job" in "" | train | tune) ;; *) die "--run: train or tune" ;; esac
[[ "$wait" == 0 || -n "$job" ]] || die "--wait goes with --run"
[[ "$registry" =~ ^[^[:space:]@]*$ && "$tag" =~ ^[A-Za-z0-9_.-]*$ ]] || die "bad --registry or --tag"
command -v kubectl >/dev/null 2>&1 || die "kubectl is required (kustomize is built in)"

kubectl_cmd=(kubectl)
[[ -n "$context" ]] && kubectl_cmd+=(--context "$context")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
manifests="$work/manifests.yaml"
kubectl kustomize "$overlay" >"$manifests"
# Image names: [REGISTRY/]neurite-<serve|cli|cli-gpu>[:TAG] -> the given registry and/or tag.
edits=()
[[ -n "$registry" ]] && edits+=(-e "s#^( *image: )([^ ]*/)?(neurite-(serve|cli-gpu|cli))(:|\$)#\1$registry/\3\5#")
[[ -n "$tag" ]] && edits+=(-e "s#^( *image: ([^ ]*/)?neurite-(serve|cli-gpu|cli))(:[^ @]*)?\$#\1:$tag#")
if [[ ${#edits[@]} -gt 0 ]]; then
  sed -E "${edits[@]}" "$manifests" >"$manifests.new"
  mv "$manifests.new" "$manifests"
fi
namespace="$(sed -n 's/^  namespace: //p' "$manifests" | head -1)"
[[ -n "$namespace" ]] || die "the overlay sets no namespace"
log "overlay $env_name: namespace $namespace; images: $(sed -n 's/^ *image: //p' "$manifests" | sort -u | tr '\n' ' ')"

run() {
  if [[ "$dry_run" == 1 ]]; then show "$@"; else "$@"; fi
}

if [[ "$dry_run" == 1 ]]; then
  cat "$manifests"
  echo "---"
fi
# Everything but the one-shot Jobs (their spec is immutable: they are replaced by --run).
run "${kubectl_cmd[@]}" apply --server-side --field-manager=neurite-deploy \
  -f "$manifests" -l 'neurite.dev/run!=once'
run "${kubectl_cmd[@]}" -n "$namespace" rollout status deployment/neurite-serve \
  --timeout="${timeout:-10m}"
if [[ -n "$job" ]]; then
  name="neurite-$job"
  log "running Job $name"
  run "${kubectl_cmd[@]}" -n "$namespace" delete job "$name" --ignore-not-found --wait=true
  run "${kubectl_cmd[@]}" apply --server-side --field-manager=neurite-deploy \
    -f "$manifests" -l "neurite.dev/run=once,app.kubernetes.io/name=$name"
  if [[ "$wait" == 1 ]]; then
    run "${kubectl_cmd[@]}" -n "$namespace" wait "job/$name" --for=condition=complete \
      --timeout="${timeout:-6h}"
    run "${kubectl_cmd[@]}" -n "$namespace" logs "job/$name" --tail=20
  fi
fi
[[ "$dry_run" == 1 ]] && log "dry run: nothing was applied"
exit 0
