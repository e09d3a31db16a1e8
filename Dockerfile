# Hamlet's image: a build stage that fetches libtorch from PyPI, compiles the dependencies from a
# cargo-chef recipe (one cached layer) and then the binaries; a slim runtime with only the
# binaries, the libraries they load, the templates and static files (OCR=1 adds the OCR tools).
# The base images are parameters so that hosts without a registry can build from local ones
# (scripts/verify-deploy.sh builds them from a debootstrap'd bookworm).
ARG BUILD_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BUILD_IMAGE} AS chef
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Debian's stable point releases are the pin: package versions change only with security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.76
WORKDIR /src
# libtorch first: its own layer, reused while only the code changes.
COPY scripts/setup-libtorch.sh scripts/setup-libtorch.sh
ENV HAMLET_LIBTORCH_CACHE=/opt/libtorch
RUN bash scripts/setup-libtorch.sh && ln -sfn /opt/libtorch .libtorch

# The recipe: the manifests and lock file only, so it changes only when the dependencies do.
FROM chef AS plan
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
# Every dependency (torch-sys, sqlx, rocket...) in one layer, rebuilt only with the recipe: a
# change to the code alone starts here from the cache (README: "Docker image").
COPY --from=plan /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --recipe-path recipe.json
COPY . .
# The line tables the release profile keeps for tests' backtraces are 170 MB of the binary:
# stripped here (function names stay in the symbol table). libtorch.so is only a link to
# libtorch_cpu.so, which the binary loads by name: copying both would store 438 MB twice.
# No `--features lab`: the research bench (`hamlet evaluate --dump`) stays out of the image.
RUN cargo build --release --locked --bin hamlet --bin hamlet-extract \
 && mkdir -p /out/bin /out/lib/hamlet \
 && cp target/release/hamlet target/release/hamlet-extract /out/bin/ \
 && strip --strip-debug /out/bin/hamlet /out/bin/hamlet-extract \
 && find /opt/libtorch/lib -maxdepth 1 -name '*.so*' ! -name libtorch.so -exec cp -L {} /out/lib/hamlet/ \;

FROM ${RUNTIME_IMAGE}
# OCR=1 adds tesseract and pdftoppm, which `hamlet harvest` uses for scanned PDFs without a
# text layer; the web image needs neither.
ARG OCR=0
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && if [ "$OCR" = 1 ]; then apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng poppler-utils; fi \
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
