# A small runtime image of infraspec: the CLI on Debian 12 slim.
#
#   docker build -t infraspec .
#   docker run --rm infraspec --version
#   docker run --rm -v "$PWD:/specs" -v /var/run/docker.sock:/var/run/docker.sock \
#       infraspec --target docker:myapp:1.2 /specs/spec.yaml
#
# The build stage compiles the release binary (several minutes on 2 cores).
# Where a binary built on a Debian 12 (glibc) machine is already at hand, the
# stage takes it instead: `--build-arg PREBUILT=target/release/infraspec`
# (.ci/docker-image.sh builds the image so, from local base images, as no
# registry is reachable there).
ARG BUILDER=rust:1-slim-bookworm
ARG RUNTIME=debian:bookworm-slim

FROM ${BUILDER} AS build
ARG PREBUILT=
# Marks the build stage's image, which the legacy builder keeps untagged, so
# that a script can remove its own by label.
ARG BUILD_ID=
LABEL org.infraspec.build-stage="${BUILD_ID}"
WORKDIR /src
COPY . .
RUN set -eu; \
    if [ -n "$PREBUILT" ]; then \
        install -m 0755 "$PREBUILT" /infraspec; \
    else \
        apt-get update; \
        apt-get install -y --no-install-recommends pkg-config libssl-dev; \
        cargo build --release --locked --bin infraspec; \
        install -m 0755 target/release/infraspec /infraspec; \
    fi; \
    /infraspec --version

FROM ${RUNTIME}
# What the binary links (libssl for libssh2) and the CA roots for https
# checks; empty where the runtime base already has them.
ARG PACKAGES="libssl3 ca-certificates"
RUN set -eu; \
    if [ -n "$PACKAGES" ]; then \
        apt-get update; \
        apt-get install -y --no-install-recommends $PACKAGES; \
        rm -rf /var/lib/apt/lists/*; \
    fi
COPY --from=build /infraspec /usr/local/bin/infraspec
LABEL org.opencontainers.image.title="infraspec" \
      org.opencontainers.image.description="Behaviour tests for machines: local, SSH, containers and images"
ENTRYPOINT ["/usr/local/bin/infraspec"]
CMD ["--help"]
