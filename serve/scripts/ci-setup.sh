#!/usr/bin/env bash
# Installs what the serving tests and benchmarks need, and nothing that is already there:
#   Debian chromium (the UI end-to-end test), wrk and hyperfine (benches/serve/run.sh),
#   node + npm, and playwright-core from serve/tests/ui/package-lock.json (npm ci).
# Idempotent; run as root (CI is). `.ci/run` calls it before `cargo test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "${#need[@]}" -gt 0 ]; then
  echo "serve ci-setup: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if [ ! -f "$here/tests/ui/node_modules/playwright-core/package.json" ]; then
  echo "serve ci-setup: npm ci in serve/tests/ui"
  (cd "$here/tests/ui" && npm ci --no-audit --no-fund)
fi
echo "serve ci-setup: ok (chromium, wrk, hyperfine, playwright-core)"
