#!/usr/bin/env bash
# Smoke test of the serving image (infra/docker/serve.Dockerfile).
#
# 1. Host layout: builds the release neurite-serve and the health probe as the Dockerfile's
#    build stage does (into target/image/, which `--build-arg BINARIES=prebuilt` consumes),
#    lays out the image's filesystem under a temporary root (binaries in /usr/local/bin, a
#    trained registry in /srv/neurite/models), reads ENTRYPOINT, ENV, WORKDIR, USER and
#    HEALTHCHECK from the Dockerfile's final stage, starts the entrypoint with that
#    environment, runs the HEALTHCHECK command, checks /v2/health/live, /v2/health/ready, /ping
#    and one prediction, then sends SIGTERM and expects exit status 0.
# 2. Container (when podman and buildah work, see --podman): builds the real image from the
#    Dockerfile with the host-built binaries and a local runtime base (glibc and libgcc copied
#    from this machine, what distroless/cc holds, since no base image can be pulled), runs it
#    as its numeric user with the registry mounted read-only, runs its HEALTHCHECK, predicts,
#    stops it (SIGTERM) and expects exit status 0.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: infra/tests/smoke-image.sh [--skip-build | --build-only] [--profile P] [--podman auto|yes|no] [--keep]

  --skip-build     use target/image/ and target/<profile>/neurite as they are
  --build-only     build target/image/ (and target/<profile>/neurite), test nothing
  --profile P      release (default: what the Dockerfile builds) or debug (the binaries
                   `cargo test --workspace` builds, test profile: nothing to build after it)
  --podman MODE    auto (default): run the container part when podman and buildah are
                   installed, else print "skipped"; yes: fail without them; no: skip it
  --keep           keep the temporary folder (printed) and the podman images
  -h, --help       this help
Prints "N passed, N failed" at the end; exit 0 only when nothing failed.
EOF
}

skip_build=0 build_only=0 profile=release podman_mode=auto keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --skip-build) skip_build=1; shift ;;
    --build-only) build_only=1; shift ;;
    --profile) profile="${2:?--profile needs release or debug}"; shift 2 ;;
    --podman) podman_mode="${2:?--podman needs auto, yes or no}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$podman_mode" in auto | yes | no) ;; *) echo "--podman: auto, yes or no" >&2; exit 2 ;; esac
# debug: `cargo build` would build the dev profile with other features unified (2-3 min
# more after `cargo test`), so ask `cargo test` for its own binaries: a no-op after it.
case "$profile" in
  release) build_cmd=(cargo build --release --locked -q -p neurite-serve --bin neurite-serve -p neurite --bin neurite) ;;
  debug) build_cmd=(cargo test --workspace --locked -q --no-run) ;;
  *) echo "--profile: release or debug" >&2; exit 2 ;;
esac

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
dockerfile=infra/docker/serve.Dockerfile
bin_dir="${CARGO_TARGET_DIR:-$repo/target}/$profile" # cargo's output (target/image/ stays in the repo: the build context)
work="$(mktemp -d)"
server_pid=""
ctr=""
P=(podman --storage-driver vfs --cgroup-manager cgroupfs --runtime runc)
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" || true; fi
  if [[ -n "$ctr" ]]; then "${P[@]}" rm -f "$ctr" >/dev/null 2>&1 || true; fi
  if [[ "$keep" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $*"; }
bad() { failed=$((failed + 1)); echo "FAILED: $*"; }
check() { # check DESCRIPTION COMMAND...
  local what="$1"; shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
predict_body='{"instances": [{"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}]}'
prediction_ok() { # prediction_ok URL: setosa, from iris v1
  local out
  out="$(curl -s --max-time 5 -H 'Content-Type: application/json' -d "$predict_body" "$1")"
  echo "  $out"
  jq -e '.predictions[0].label == "setosa" and .model_name == "iris" and .model_version == "1"' \
    <<<"$out" >/dev/null
}

if [[ "$skip_build" == 0 ]]; then
  echo "== building what the Dockerfile's build stage builds ($profile)"
  "${build_cmd[@]}"
  mkdir -p target/image
  cp "$bin_dir/neurite-serve" target/image/neurite-serve
  strip target/image/neurite-serve
  rustc --edition 2021 -C opt-level=s -C strip=symbols \
    -o target/image/neurite-healthcheck infra/docker/healthcheck.rs
fi
for f in target/image/neurite-serve target/image/neurite-healthcheck "$bin_dir/neurite"; do
  [[ -x "$f" ]] || { echo "missing $f (run without --skip-build)" >&2; exit 2; }
done
[[ "$build_only" == 0 ]] || exit 0

echo "== a registry to serve: iris v1, trained with the $profile CLI"
NEURITE_MODELS="$work/models" "$bin_dir/neurite" train data/iris.csv --target species \
  --name iris --json >"$work/train.json"

echo "== the image's runtime facts from $dockerfile"
python3 infra/tests/dockerfile_final_stage.py "$dockerfile" >"$work/facts.sh"
cat "$work/facts.sh"
entrypoint=() cmd=() healthcheck=() env_pairs=() workdir="" user=""
# shellcheck source=/dev/null
source "$work/facts.sh"
check "USER is numeric and non-root ($user)" test "$user" = 65532:65532
check "HEALTHCHECK CMD in exec form: ${healthcheck[*]}" test "${#healthcheck[@]}" -gt 0

echo "== part 1: the image's filesystem laid out on the host, started as the entrypoint"
root="$work/root"
mkdir -p "$root/usr/local/bin" "$root/srv/neurite"
cp target/image/neurite-serve target/image/neurite-healthcheck "$root/usr/local/bin/"
cp -r "$work/models" "$root/srv/neurite/models" # COPY models /srv/neurite/models
port="$(free_port)"
# The Dockerfile's ENV with its absolute paths moved under the temporary root; PORT changed
# to a free port (the container's 8080 may be taken here); nothing else from this shell.
run_env=(HOME=/nonexistent PATH=/usr/bin:/bin)
for kv in "${env_pairs[@]}"; do
  k="${kv%%=*}" v="${kv#*=}"
  [[ "$v" == /* ]] && v="$root$v"
  run_env+=("$k=$v")
done
run_env+=("PORT=$port")
mkdir -p "$root$workdir"
(cd "$root$workdir" && exec env -i "${run_env[@]}" "$root${entrypoint[0]}" "${entrypoint[@]:1}" "${cmd[@]}") \
  >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/server.err" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if grep -q "listening on" "$work/server.err"; then
  ok "the entrypoint started: $(grep -m1 'listening on' "$work/server.err")"
else
  bad "the entrypoint did not start"; cat "$work/server.err"
fi
base="http://127.0.0.1:$port"
check "HEALTHCHECK ${healthcheck[*]} exits 0" \
  env -i "PORT=$port" "$root${healthcheck[0]}" "${healthcheck[@]:1}"
check "GET /v2/health/live is 200" test "$(http_status "$base/v2/health/live")" = 200
check "GET /v2/health/ready is 200" test "$(http_status "$base/v2/health/ready")" = 200
check "GET /ping is 200 (a model is served)" test "$(http_status "$base/ping")" = 200
check "POST /v1/models/iris:predict answers setosa from iris v1" prediction_ok "$base/v1/models/iris:predict"
kill -TERM "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
check "SIGTERM: clean exit (status $rc)" test "$rc" = 0
check "SIGTERM: the server said it was shutting down" grep -q "shutting down" "$work/server.err"

echo "== part 2: the real image (podman)"
have_podman=0 why=""
if ! command -v podman >/dev/null 2>&1 || ! command -v buildah >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  why="podman, buildah or runc not installed (apt-get install podman buildah runc)"
elif ! "${P[@]}" info >"$work/podman-info.log" 2>&1; then
  why="podman does not work on this machine: $(tail -1 "$work/podman-info.log")"
else
  have_podman=1
fi
if [[ "$podman_mode" == no ]]; then
  echo "skipped: --podman no"
elif [[ "$have_podman" == 0 && "$podman_mode" == auto ]]; then
  echo "skipped: $why"
elif [[ "$have_podman" == 0 ]]; then
  bad "$why (--podman yes)"
else
  # A runtime base with what distroless/cc-debian12 holds: the binary's shared libraries
  # (glibc, libm, libgcc_s), the dynamic loader, /etc/passwd with the nonroot user, /tmp.
  broot="$work/base"
  mkdir -p "$broot/etc" "$broot/tmp"
  chmod 1777 "$broot/tmp"
  while read -r lib; do
    mkdir -p "$broot$(dirname "$lib")"
    cp -L "$lib" "$broot$lib"
  done < <(for bin in target/image/neurite-serve target/image/neurite-healthcheck; do
             ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
           done | sort -u)
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$broot/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' >"$broot/etc/group"
  images_before="$("${P[@]}" images -a -q --no-trunc | sort -u)"
  tar -C "$broot" -c . | "${P[@]}" import -q - localhost/neurite-runtime-base:ci >/dev/null
  if "${P[@]}" build -q --format docker --isolation chroot -f "$dockerfile" \
      --build-arg BINARIES=prebuilt --build-arg RUNTIME_IMAGE=localhost/neurite-runtime-base:ci \
      -t localhost/neurite-serve:ci . >"$work/build.log" 2>&1; then
    ok "podman build -f $dockerfile (BINARIES=prebuilt, local runtime base)"
    cport="$(free_port)"
    ctr="neurite-smoke-$$"
    # runc, cgroupfs and lowered ulimits: what works in this sandbox (see the toolbox note).
    if "${P[@]}" run -d --name "$ctr" --network host \
        --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        -e "PORT=$cport" -v "$work/models:/srv/neurite/models:ro" \
        localhost/neurite-serve:ci >/dev/null 2>"$work/run.err"; then
      for _ in $(seq 1 100); do
        "${P[@]}" logs "$ctr" 2>&1 | grep -q "listening on" && break
        sleep 0.1
      done
      cbase="http://127.0.0.1:$cport"
      check "container runs as $("${P[@]}" inspect "$ctr" --format '{{.Config.User}}')" \
        test "$("${P[@]}" inspect "$ctr" --format '{{.Config.User}}')" = 65532:65532
      check "podman healthcheck run (the image's HEALTHCHECK)" \
        "${P[@]}" healthcheck run "$ctr"
      check "container: GET /v2/health/ready is 200" test "$(http_status "$cbase/v2/health/ready")" = 200
      check "container: POST /v1/models/iris:predict answers setosa" prediction_ok "$cbase/v1/models/iris:predict"
      "${P[@]}" stop -t 20 "$ctr" >/dev/null 2>&1 || true
      crc="$("${P[@]}" inspect "$ctr" --format '{{.State.ExitCode}}')"
      check "container: podman stop (SIGTERM) gives a clean exit (status $crc)" test "$crc" = 0
      "${P[@]}" rm -f "$ctr" >/dev/null 2>&1 || true
      ctr=""
    else
      bad "podman run"; cat "$work/run.err"
    fi
  else
    bad "podman build"; tail -30 "$work/build.log"
  fi
  if [[ "$keep" == 0 ]]; then # the images this test made (the build stages too), no others
    comm -13 <(printf '%s\n' "$images_before") <("${P[@]}" images -a -q --no-trunc | sort -u) \
      | xargs -r "${P[@]}" rmi -f >/dev/null 2>&1 || true
  fi
fi

echo "smoke-image: $passed passed, $failed failed"
[[ "$failed" == 0 ]]
