# syntax=docker/dockerfile:1.7
# neurite-serve as an AWS Lambda container image (PackageType Image), on the OS-only base
# image provided.al2023. The binary is the same one as the server: in Lambda it answers API
# Gateway (REST and HTTP), function-URL and ALB events.
#
#   docker build -f infra/docker/lambda.Dockerfile -t neurite-lambda .                 # x86-64
#   docker build -f infra/docker/lambda.Dockerfile -t neurite-lambda \
#       --platform linux/arm64 .                                                       # Graviton
#
# The build stage runs on the build machine's own platform and cross-compiles with
# cargo-lambda (zig as the linker), so an arm64 image needs no emulation.
#
# Local test with the runtime interface emulator that the base image ships:
#   docker run --rm -p 9000:8080 --entrypoint /usr/local/bin/aws-lambda-rie \
#       neurite-lambda /var/runtime/bootstrap
#   curl -s localhost:9000/2015-03-31/functions/function/invocations \
#       -d '{"version":"2.0","rawPath":"/v2/health/ready","requestContext":{"http":{"method":"GET"}},"isBase64Encoded":false}'
#
# Models: the build context's models/ is copied to $LAMBDA_TASK_ROOT/models (/var/task/models),
# where neurite-serve looks in Lambda mode.
# checkov:skip=CKV_DOCKER_7: the base images are build arguments whose defaults above are pinned tags; checkov does not resolve ARG defaults
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG LAMBDA_IMAGE=public.ecr.aws/lambda/provided:al2023

# ---- build: cargo lambda build for the target architecture ---------------------------------
FROM --platform=$BUILDPLATFORM ${RUST_IMAGE} AS build
ARG TARGETARCH=amd64
ARG CARGO_LAMBDA_VERSION=1.9.2
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Build stage only: python3-venv to install the pinned cargo-lambda. DL3008 (pin apt versions)
# is skipped: Debian drops superseded versions from the archive, so a pin breaks the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/cargo-lambda \
    && /opt/cargo-lambda/bin/pip install --no-cache-dir "cargo-lambda==${CARGO_LAMBDA_VERSION}"
ENV PATH=/opt/cargo-lambda/bin:$PATH
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY kernels kernels
COPY engine engine
COPY pipeline pipeline
COPY serve serve
COPY cli cli
COPY benches benches
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    case "$TARGETARCH" in \
      amd64) arch=--x86-64 ;; \
      arm64) arch=--arm64; rustup target add aarch64-unknown-linux-gnu ;; \
      *) echo "unsupported TARGETARCH=$TARGETARCH (amd64 or arm64)" >&2; exit 1 ;; \
    esac \
    && cargo lambda build --release --locked "$arch" -p neurite-serve --bin neurite-serve \
    && mkdir -p /out \
    && cp target/lambda/neurite-serve/bootstrap /out/bootstrap

# ---- runtime: the Lambda OS-only base image ----------------------------------------------
FROM ${LAMBDA_IMAGE}
LABEL org.opencontainers.image.title="neurite-lambda" \
      org.opencontainers.image.description="neurite-serve as an AWS Lambda function (container image)" \
      org.opencontainers.image.source="https://github.com/neurite-ml/neurite" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
# The base image's /lambda-entrypoint.sh runs ${LAMBDA_RUNTIME_DIR}/bootstrap.
COPY --from=build /out/bootstrap /var/runtime/bootstrap
COPY models /var/task/models
ENV NEURITE_INFERENCE_LOG=stdout
# Lambda runs the function as its own unprivileged user whatever USER says; the numeric user
# keeps local runs (docker run with the emulator) unprivileged too.
USER 65532:65532
# Lambda ignores HEALTHCHECK: the Runtime API is its health signal.
HEALTHCHECK NONE
ENTRYPOINT ["/lambda-entrypoint.sh"]
CMD ["bootstrap"]
