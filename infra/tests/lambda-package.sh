#!/usr/bin/env bash
# The Lambda package that infra/scripts/deploy-lambda.sh assembles (bootstrap + models/) and the
# SAM template's environment, run under a local Runtime API (lambda_emulator.py) the way
# provided.al2023 runs it: LAMBDA_TASK_ROOT = the package, the models found there without
# NEURITE_MODELS, API Gateway v2 events in, responses out. The bootstrap is this machine's
# release neurite-serve (x86-64); `cargo lambda build` makes the deployable one, for arm64 too.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/tests/lambda-package.sh [--help]
Environment: NEURITE (the CLI, default target/release/neurite), SERVE_BIN (default
target/release/neurite-serve); both built when missing.
Prints "N passed, N failed"; exit 0 only when nothing failed.
EOF
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
bin_dir="${CARGO_TARGET_DIR:-$repo/target}/release"
NEURITE="${NEURITE:-$bin_dir/neurite}"
SERVE_BIN="${SERVE_BIN:-$bin_dir/neurite-serve}"
if [[ ! -x "$NEURITE" || ! -x "$SERVE_BIN" ]]; then
  cargo build --release --locked -q -p neurite --bin neurite -p neurite-serve --bin neurite-serve
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() { local what="$1"; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

echo "== a registry: iris v1 with the production alias"
(cd "$work" && NEURITE_MODELS="$work/models" "$NEURITE" train "$repo/data/iris.csv" --target species \
  --name iris --json >/dev/null && NEURITE_MODELS="$work/models" "$NEURITE" models promote iris@v1 production)

echo "== deploy-lambda.sh --package-only"
infra/scripts/deploy-lambda.sh --arch x86_64 --bootstrap "$SERVE_BIN" --models "$work/models" \
  --model iris@production --package-only
pkg="$repo/target/lambda-package"
check "package: bootstrap at the root, models/iris inside" \
  test -x "$pkg/bootstrap" -a -f "$pkg/models/iris/v1/model.json" -a -f "$pkg/models/iris/aliases.json"
check "package: no training checkpoints or lock" \
  test -z "$(find "$pkg/models" -name checkpoints -o -name .lock)"

predict='{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
jq -n --arg body "$predict" '
  def ev($method; $path; $headers; $body): {version: "2.0", routeKey: "$default", rawPath: $path,
    rawQueryString: "", headers: $headers,
    requestContext: {http: {method: $method, path: $path, protocol: "HTTP/1.1", sourceIp: "127.0.0.1",
      userAgent: "test"}, requestId: "r", routeKey: "$default", stage: "$default",
      accountId: "123456789012", apiId: "api", domainName: "api.example", domainPrefix: "api",
      time: "01/Jan/2026:00:00:00 +0000", timeEpoch: 0},
    body: $body, isBase64Encoded: false};
  [ev("GET"; "/v2/health/ready"; {}; null),
   ev("POST"; "/v1/models/iris:predict"; {"content-type": "application/json", "x-api-key": "test-key"}; $body),
   ev("POST"; "/v1/models/iris:predict"; {"content-type": "application/json"}; $body),
   ev("GET"; "/v1/models/iris"; {}; null)]' >"$work/events.json"

echo "== the package under the Runtime API emulator (the template's environment)"
if python3 infra/tests/lambda_emulator.py "$pkg" "$work/events.json" \
    NEURITE_API_KEY=test-key NEURITE_SERVE_MODELS=iris@production NEURITE_INFERENCE_LOG=stdout \
    >"$work/answers.json"; then
  ok "four events answered"
else
  bad "the emulator run"; cat "$work/bootstrap.log" || true
fi
a="$work/answers.json"
check "GET /v2/health/ready -> 200" test "$(jq -r '.[0].statusCode' "$a")" = 200
check "POST predict with the API key -> 200, setosa from iris v1 (found via LAMBDA_TASK_ROOT)" \
  test "$(jq -r '.[1] | "\(.statusCode) \(.body | fromjson | .predictions[0].label) \(.body | fromjson | .model_version)"' "$a")" = "200 setosa 1"
check "POST predict without the key -> 401 (NEURITE_API_KEY from the template)" \
  test "$(jq -r '.[2].statusCode' "$a")" = 401
check "GET /v1/models/iris -> 200" test "$(jq -r '.[3].statusCode' "$a")" = 200
check "the inference log line went to stdout (CloudWatch)" grep -q '"route":"v1_predict"' "$work/bootstrap.log"
rm -rf "$pkg"

echo "lambda-package: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
