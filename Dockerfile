# kiln serve in a container: build with the Swift toolchain, run on a slim Debian with OpenBLAS.
#
#   docker build -t kiln .
#   docker run --rm -p 8080:8080 -v /srv/models:/models kiln serve --repository /models --host 0.0.0.0
#
# The image holds no models: mount a repository (ROOT/<model>/<version>/model.kiln) at /models, or let
# KServe's storage initializer download one to /mnt/models (Deploy/kubernetes/).
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libopenblas-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# The manifest names test and benchmark targets; their folders must exist for the package to resolve.
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
RUN swift build -c release --product kiln --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/kiln" /usr/local/bin/kiln

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopenblas0-pthread curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 kiln
COPY --from=build /usr/local/bin/kiln /usr/local/bin/kiln
USER kiln
EXPOSE 8080
# SIGTERM (docker stop, Kubernetes) drains in-flight requests and exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s CMD curl -fs http://127.0.0.1:8080/v2/health/ready || exit 1
ENTRYPOINT ["kiln"]
CMD ["serve", "--repository", "/models", "--host", "0.0.0.0", "--port", "8080"]
