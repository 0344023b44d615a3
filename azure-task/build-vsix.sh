#!/usr/bin/env bash
# Builds the Azure DevOps extension (.vsix): cross-compiled imagegate binaries for the
# agents' platforms, the shim with its production node_modules, task.json, packed with
# tfx-cli. Output: dist/imagegate-<version>.vsix
# Usage: azure-task/build-vsix.sh [VERSION]    (PLATFORMS="linux/amd64 ..." to build fewer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=${1:-0.1.0}
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "version $version is not X.Y.Z" >&2; exit 2; }
platforms=${PLATFORMS:-linux/amd64 linux/arm64 windows/amd64 windows/arm64 darwin/amd64 darwin/arm64}
out="$root/dist/vsix"
rm -rf "$out" && mkdir -p "$out/task/bin"
for target in $platforms; do
  os=${target%/*}; arch=${target#*/}
  exe=imagegate; [ "$os" = windows ] && exe=imagegate.exe
  echo "building $os/$arch"
  (cd "$root" && CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath \
    -ldflags "-s -w -X github.com/imagegate/imagegate/report.Version=$version" \
    -o "$out/task/bin/$os-$arch/$exe" ./cmd/imagegate)
done
cp "$root/task.json" "$root/azure-task/index.js" "$root/azure-task/package.json" "$root/azure-task/package-lock.json" "$out/task/"
# The task's version is the release's: the agent caches tasks by version.
node -e '
  const fs = require("fs"); const f = process.argv[1]; const t = JSON.parse(fs.readFileSync(f, "utf8"));
  const [Major, Minor, Patch] = process.argv[2].split(".").map(Number);
  t.version = { Major, Minor, Patch }; fs.writeFileSync(f, JSON.stringify(t, null, 2) + "\n");
' "$out/task/task.json" "$version"
(cd "$out/task" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp "$root/azure-task/vss-extension.json" "$out/"
(cd "$root/tools/validators" && npm ci --no-audit --no-fund --loglevel=error)
"$root/tools/validators/node_modules/.bin/tfx" extension create --root "$out" \
  --manifest-globs vss-extension.json --override "{\"version\": \"$version\"}" \
  --output-path "$root/dist/" --no-prompt
ls -la "$root/dist/"*.vsix
