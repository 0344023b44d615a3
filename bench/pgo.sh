#!/usr/bin/env bash
# Writes cmd/imagegate/default.pgo: the CPU profile the Go toolchain optimizes imagegate's
# builds with (profile-guided optimization: `go build` picks the file up itself). It is
# the merge of full scans (IMAGEGATE_CPUPROFILE) of bench/run.sh's images, gzip and
# uncompressed, real files and synthetic ones. Run bench/run.sh once first (it makes the
# images and the database), then this after changing the scan's hot paths; commit the
# file with the change.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${IMAGEGATE_BENCH_DIR:-/var/tmp/imagegate-bench}
[ -f "$dir/db/done" ] || { echo "no bench images in $dir: run bench/run.sh first" >&2; exit 2; }
go build -o "$dir/imagegate" ./cmd/imagegate
profiles=()
for img in flat-1g-gzip flat-400m-gzip flat-100m-gzip flat-1g uncompressed gzip; do
  IMAGEGATE_CPUPROFILE="$dir/pgo-$img.prof" "$dir/imagegate" scan "docker-archive:$dir/$img.tar" \
    --db "$dir/db" --fail-on-issues=false --allow-incomplete >/dev/null 2>"$dir/pgo-$img.log"
  profiles+=("$dir/pgo-$img.prof")
done
go tool pprof -proto "${profiles[@]}" >cmd/imagegate/default.pgo
echo "wrote cmd/imagegate/default.pgo from ${#profiles[@]} scans"
