# syntax=docker/dockerfile:1
# The GitHub Action's image: a static imagegate binary on distroless.
# Releases: .github/workflows/release.yml builds this file for linux/amd64 and linux/arm64,
# pushes the image to ghcr.io, signs it and attests it; the release tag's action.yml names
# that image by digest, so no user's job compiles anything. (On a branch, action.yml says
# `image: Dockerfile` and the runner builds it.)
# The Go image is go.mod's Go version (a test checks they agree); GOTOOLCHAIN=local makes a
# mismatch fail the build instead of downloading another toolchain.
FROM --platform=$BUILDPLATFORM golang:1.26.8-alpine@sha256:ce864e7223ac17b1775e6fd0b4c0db580c2eb50e7953a427916379e4b92a1628 AS build
ENV GOTOOLCHAIN=local CGO_ENABLED=0
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY ci/ ci/
COPY cmd/ cmd/
COPY internal/ internal/
COPY reporters/ reporters/
COPY scanner/ scanner/
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=0.1.0-dev
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w -X github.com/imagegate/imagegate/report.Version=${VERSION}" -o /out/imagegate ./cmd/imagegate

FROM gcr.io/distroless/static-debian12:nonroot@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639 AS action
COPY --from=build /out/imagegate /imagegate
# GitHub runs Docker actions as the image's user and documents that it must be the default
# (root): the workspace, the file-command files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) and
# the mounted /var/run/docker.sock belong to the runner's users, and a fixed uid cannot
# write or read them on every runner. The action reads images, it runs none of them.
# imagegate ignore=DF002
USER 0
HEALTHCHECK NONE
ENTRYPOINT ["/imagegate"]
CMD ["github"]
