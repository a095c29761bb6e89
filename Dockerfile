# The Homeward production binary: `homeward api`, `worker`, `serve`, `migrate`,
# `user add`, `health`. Built without the dev tag, so without the embedded
# Temporal server or the local PostgreSQL (deploy/deploy_test.go checks this file).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/homeward ./cmd/homeward

# Static, no shell, no package manager; runs as the unprivileged nonroot user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/homeward /usr/local/bin/homeward
USER 65532:65532
EXPOSE 8080
# The API answers /readyz; the worker, which has no listener, turns this off
# in docker-compose.yml.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/homeward", "health"]
ENTRYPOINT ["/usr/local/bin/homeward"]
CMD ["serve"]
