# syntax=docker/dockerfile:1.7
# neurite CLI: training, tuning, evaluation and registry jobs (the Kubernetes Jobs, the
# retraining CronJob and the docker-compose training service run this image).
#
#   docker build -f infra/docker/cli.Dockerfile -t neurite-cli .            # CPU
#   docker build -f infra/docker/cli.Dockerfile -t neurite-cli-gpu \
#       --build-arg RUNTIME_IMAGE=docker.io/nvidia/cuda:13.0.2-runtime-ubuntu24.04 .
#   docker run --rm -v neurite-registry:/var/lib/neurite neurite-cli \
#       train /opt/neurite/data/iris.csv --target species
#
# The GPU variant only changes the runtime base: the binary loads the CUDA driver and NVRTC at
# run time (cudarc dynamic loading, CUDA 13), which the nvidia/cuda runtime image and the
# NVIDIA container toolkit on the node provide. The same binary runs on CPU everywhere.
#
# Build arguments: RUST_IMAGE, RUNTIME_IMAGE (a Debian or Ubuntu base with apt),
# BINARIES=build|prebuilt (prebuilt: target/image/neurite from the build context).
# checkov:skip=CKV_DOCKER_7: the base images are build arguments whose defaults above are pinned tags; checkov does not resolve ARG defaults
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
ARG BINARIES=build

# ---- build ---------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
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
    cargo build --release --locked -p neurite --bin neurite \
    && mkdir -p /out \
    && cp target/release/neurite /out/neurite \
    && strip /out/neurite

FROM scratch AS prebuilt
COPY target/image/neurite /out/

FROM ${BINARIES} AS binaries

# ---- runtime -------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="neurite-cli" \
      org.opencontainers.image.description="neurite CLI: training, tuning, evaluation and model registry jobs" \
      org.opencontainers.image.source="https://github.com/neurite-ml/neurite" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# jq: retrain.sh reads `neurite eval --json`. The user 65532 owns the data folder, so a named
# volume mounted there (docker compose) starts out writable by the jobs.

# DL3008 (pin apt versions) is skipped on purpose: the base is a build argument (Debian for the
# CPU image, Ubuntu for the CUDA one), so no single version string exists, and the archive
# drops superseded versions, which would break a pinned build; the base image tag is pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends jq \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 neurite \
    && useradd --uid 65532 --gid 65532 --home-dir /var/lib/neurite --no-create-home \
         --shell /usr/sbin/nologin neurite \
    && mkdir -p /var/lib/neurite /etc/neurite \
    && chown 65532:65532 /var/lib/neurite
COPY --from=binaries /out/neurite /usr/local/bin/neurite
COPY infra/scripts/train.sh infra/scripts/retrain.sh infra/scripts/tune-worker.sh /opt/neurite/scripts/
COPY infra/k8s/base/neurite.yaml /etc/neurite/neurite.yaml
# The shipped sample datasets (see data/README.md): the default training job uses iris.
COPY data/*.csv /opt/neurite/data/
ENV NEURITE_CONFIG=/etc/neurite/neurite.yaml \
    PATH=/opt/neurite/scripts:$PATH
WORKDIR /var/lib/neurite
USER 65532:65532
# A job container, not a service: nothing listens, so there is no health to check.
HEALTHCHECK NONE
ENTRYPOINT ["/usr/local/bin/neurite"]
CMD ["--help"]
