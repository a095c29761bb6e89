# The Homeward binary: `homeward serve`, `api`, `worker`, `migrate`, `user add`.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/homeward ./cmd/homeward

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/homeward /usr/local/bin/homeward
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/homeward"]
CMD ["serve"]
