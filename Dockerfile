# Hamlet's image: a build stage that fetches libtorch from PyPI and compiles the binaries, and a
# slim runtime with only the binaries, the libraries they load, the templates and static files.
# The base images are parameters so that hosts without a registry can build from local ones
# (scripts/verify-deploy.sh builds them from a debootstrap'd bookworm).
ARG BUILD_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BUILD_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's stable point releases are the pin: package versions change only with security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# libtorch first: its own layer, reused while only the code changes.
COPY scripts/setup-libtorch.sh scripts/setup-libtorch.sh
ENV HAMLET_LIBTORCH_CACHE=/opt/libtorch
RUN bash scripts/setup-libtorch.sh
COPY . .
RUN ln -sfn /opt/libtorch .libtorch \
 && cargo build --release --locked --bin hamlet --bin hamlet-extract \
 && mkdir -p /out/bin /out/lib/hamlet \
 && cp target/release/hamlet target/release/hamlet-extract /out/bin/ \
 && cp -L /opt/libtorch/lib/*.so* /out/lib/hamlet/

FROM ${RUNTIME_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --home-dir /app --uid 10001 hamlet
WORKDIR /app
COPY --from=build /out/lib/hamlet /app/lib/hamlet
# hamlet-extract reads each upload in a child process under limits (it links no libtorch).
COPY --from=build /out/bin/hamlet /out/bin/hamlet-extract /app/bin/
COPY templates /app/templates
COPY public /app/public
COPY Procfile /app/Procfile
RUN mkdir -p /app/data && chown 10001:10001 /app/data
USER 10001
# The container listens on every interface; PORT may be set by the platform (Heroku does).
ENV HAMLET_ADDRESS=0.0.0.0 \
    PORT=8000 \
    PATH=/app/bin:$PATH
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/app/bin/hamlet", "healthcheck"]
CMD ["/app/bin/hamlet", "serve"]
