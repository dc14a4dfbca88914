# syntax=docker/dockerfile:1
# The `palisade` binary on a slim Debian, as docker-compose.yml runs its registry replicas (the entry point is
# `palisade`, so the image runs any command). Build it with `docker build -t palisade .`.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
# The caches keep downloaded crates and compiled dependencies between builds; the binary is copied out of them.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p palisade-cli \
    && cp target/release/palisade /usr/local/bin/palisade

FROM debian:trixie-slim
# ca-certificates for HTTPS to registries, object stores and Sigstore; curl for the containers' health checks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --create-home --home-dir /var/lib/palisade palisade
COPY --from=build /usr/local/bin/palisade /usr/local/bin/palisade
USER palisade
WORKDIR /var/lib/palisade
EXPOSE 5000
ENTRYPOINT ["palisade"]
CMD ["serve", "--addr", "0.0.0.0:5000"]
