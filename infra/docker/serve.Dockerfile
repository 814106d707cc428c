# syntax=docker/dockerfile:1.7
# neurite-serve: the HTTP server with the web UI, on a minimal runtime (distroless, no shell).
#
#   docker build -f infra/docker/serve.Dockerfile -t neurite-serve .        # from the repo root
#   docker run --rm -p 8080:8080 neurite-serve                              # serves ./models
#   docker run --rm -p 8080:8080 -v "$PWD/models:/srv/neurite/models:ro" neurite-serve
#
# Build arguments:
#   RUST_IMAGE     build stage (Rust toolchain)
#   RUNTIME_IMAGE  runtime stage: glibc + libgcc and nothing else is needed
#   BINARIES       "build" (default: compile in the build stage) or "prebuilt" (take
#                  target/image/neurite-serve and target/image/neurite-healthcheck from the
#                  build context; used by the CI smoke test, which cannot pull a Rust image)
#
# Layout (also what infra/tests/smoke-image.sh reproduces outside a container):
#   /usr/local/bin/neurite-serve        the server (ENTRYPOINT)
#   /usr/local/bin/neurite-healthcheck  HEALTHCHECK probe (GET /v2/health/ready on $PORT)
#   /srv/neurite/models                 the model registry (the build context's models/,
#                                       or a volume mounted over it)
# checkov:skip=CKV_DOCKER_7: the base images are build arguments whose defaults above are pinned tags; checkov does not resolve ARG defaults
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG BINARIES=build

# ---- build: release binary + health probe ------------------------------------------------
FROM ${RUST_IMAGE} AS build
WORKDIR /src
# Only what the workspace needs to compile (models/ and data/ changes do not rebuild).
COPY Cargo.toml Cargo.lock ./
COPY kernels kernels
COPY engine engine
COPY pipeline pipeline
COPY serve serve
COPY cli cli
COPY benches benches
COPY infra/docker/healthcheck.rs infra/docker/healthcheck.rs
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p neurite-serve --bin neurite-serve \
    && mkdir -p /out \
    && cp target/release/neurite-serve /out/neurite-serve \
    && strip /out/neurite-serve \
    && rustc --edition 2021 -C opt-level=s -C strip=symbols \
         -o /out/neurite-healthcheck infra/docker/healthcheck.rs

# ---- prebuilt: binaries built on the host (CI smoke test) --------------------------------
FROM scratch AS prebuilt
COPY target/image/neurite-serve target/image/neurite-healthcheck /out/

# ---- the selected binaries -----------------------------------------------------------------
FROM ${BINARIES} AS binaries

# ---- runtime -------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="neurite-serve" \
      org.opencontainers.image.description="neurite model server: TF Serving/KServe V1, KServe V2 and MLflow APIs, metrics, web UI" \
      org.opencontainers.image.source="https://github.com/neurite-ml/neurite" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=binaries /out/neurite-serve /out/neurite-healthcheck /usr/local/bin/
# The registry baked into the image: whatever models/ holds in the build context (the README
# only, in a clean checkout), owned by root and read-only for the server. Mount a volume over
# /srv/neurite/models to serve another registry.
COPY models /srv/neurite/models
WORKDIR /srv/neurite
ENV NEURITE_MODELS=/srv/neurite/models \
    NEURITE_LOGS=/srv/neurite/logs \
    NEURITE_BIND=0.0.0.0 \
    PORT=8080 \
    NEURITE_SERVE_MODE=server
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/neurite-healthcheck", "/v2/health/ready"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/neurite-serve"]
