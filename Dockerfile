# syntax=docker/dockerfile:1
# The GitHub Action's image: a static imagegate binary on distroless. Checked by
# imagegate's own rules (`imagegate lint Dockerfile`) in CI.
FROM golang:1.26-alpine@sha256:f1ddd9fe14fffc091dd98cb4bfa999f32c5fc77d2f2305ea9f0e2595c5437c14 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY reporters/ reporters/
COPY scanner/ scanner/
ARG VERSION=0.1.0-dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X github.com/imagegate/imagegate/scanner.Version=${VERSION}" -o /out/imagegate ./cmd/imagegate

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639
COPY --from=build /out/imagegate /imagegate
# GitHub runs container actions with the workspace and the file-command files owned by the
# runner user (1001 on GitHub-hosted runners): run as that unprivileged user so the action
# can write its SARIF file, summary and outputs.
USER 1001
HEALTHCHECK NONE
ENTRYPOINT ["/imagegate"]
CMD ["github"]
