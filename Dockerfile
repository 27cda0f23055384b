# syntax=docker/dockerfile:1
# Build: docker build -t boxoffice .
# Run:   docker run -p 8080:8080 -e REDIS_URL=redis://redis:6379 -e BOXOFFICE_JWT_SECRET=... boxoffice

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/boxoffice ./cmd/boxoffice

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/boxoffice /boxoffice
# An unprivileged, nameless user: nothing in the image runs as root.
USER 65532:65532
ENV BOXOFFICE_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/boxoffice", "healthcheck"]
ENTRYPOINT ["/boxoffice"]
