#!/usr/bin/env bash
# Prints what a full scan (packages, vulnerabilities against a built store, secrets, image
# checks) costs beside its floor, both measured in this run on the same files:
#   uncompressed docker archive  vs  cat of the archive (warm page cache)     target <= 5x
#   gzip docker archive (20 layers) vs one-core gzip -dc of its layer blobs     target <= 0.35x
#   the gzip image in a registry  vs  downloading all its layer blobs at once   target <= 1.2x
#     (an in-process registry sending at $IMAGEGATE_BENCH_MBITS Mbit/s, default 1000)
# and each scan's peak RSS (targets: <= 100 MiB for the ~450 MiB image, <= 150 MiB for the
# 1 GiB one). Images are generated once into $IMAGEGATE_BENCH_DIR (bench/mkimages).
# Then the flat-memory table: a full scan of images of 100 MB, 400 MB and 1 GiB made of
# this machine's own files (Debian's dpkg database, libraries, Python, node and its
# modules, a Go toolchain, Go module sources), uncompressed and gzip: peak RSS (target
# <= 64 MiB on every one) and time, with the gzip image's time beside one core's
# gzip -dc of its layers (target <= 0.35).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${IMAGEGATE_BENCH_DIR:-/var/tmp/imagegate-bench}
runs=${IMAGEGATE_BENCH_RUNS:-3}
go run ./bench/mkimages "$dir"
go run ./bench/mkimages flat "$dir"
go build -o "$dir/imagegate" ./cmd/imagegate
go build -o "$dir/mkimages" ./bench/mkimages
ig="$dir/imagegate"
if [ ! -f "$dir/db/done" ]; then
  rm -rf "$dir/db" && mkdir -p "$dir/db"
  "$ig" db import --db "$dir/db" testdata/osv/*/all.zip >/dev/null
  touch "$dir/db/done"
fi

# median of $runs timings of a command, then its peak RSS in one more run: "seconds
# peak-RSS-KiB". The seconds come from the clock in nanoseconds around the command alone
# (/usr/bin/time's %e has 10 ms steps, a sixth of the cat floor, and its own start).
measure() {
  local i t0 t1 tf="$dir/time.out" s
  s=$(for i in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }'
  done | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  /usr/bin/time -o "$tf" -f '%M' "$@" >/dev/null 2>&1 || true
  echo "$s $(tail -1 "$tf")"
}
scanargs=(--db "$dir/db" --fail-on-issues=false --allow-incomplete)

cat "$dir/uncompressed.tar" "$dir/gzip.tar" >/dev/null # warm the page cache
read -r cat_s _ < <(runs=$((runs * 3)) measure cat "$dir/uncompressed.tar")
read -r unc_s unc_kb < <(measure "$ig" scan "docker-archive:$dir/uncompressed.tar" "${scanargs[@]}")

gzip_floor() { tar -xOf "$dir/gzip.tar" --wildcards '*.tar.gz' | gzip -dc >/dev/null; }
export -f gzip_floor; export dir
read -r gz_floor _ < <(measure bash -c gzip_floor)
read -r gz_s gz_kb < <(measure "$ig" scan "docker-archive:$dir/gzip.tar" "${scanargs[@]}")

addr=127.0.0.1:${IMAGEGATE_BENCH_PORT:-5055}
"$dir/mkimages" serve "$dir" "$addr" >"$dir/serve.log" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
for _ in $(seq 100); do grep -q ready "$dir/serve.log" && break; sleep 0.2; done
dl=()
for _ in $(seq "$runs"); do dl+=("$("$dir/mkimages" download "$addr/bench/gzip:1")"); done
dl_s=$(printf '%s\n' "${dl[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
read -r reg_s reg_kb < <(measure "$ig" scan "$addr/bench/gzip:1" --insecure-registry --image-source registry "${scanargs[@]}")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
printf '%s, %s, %d CPUs, median of %d\n\n' "$(date -u +%F)" "$(go env GOVERSION)" "$(nproc)" "$runs"
printf '| image | floor | floor s | scan s | ratio | target | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|\n'
printf '| uncompressed docker archive, %d MiB | cat | %s | %s | %s | <= 5 | %s |\n' "$(( $(stat -c %s "$dir/uncompressed.tar") >> 20 ))" "$cat_s" "$unc_s" "$(ratio "$unc_s" "$cat_s")" "$(mib "$unc_kb")"
printf '| gzip docker archive, 20 layers, %d MiB stored | gzip -dc, one core | %s | %s | %s | <= 0.35 | %s |\n' "$(( $(stat -c %s "$dir/gzip.tar") >> 20 ))" "$gz_floor" "$gz_s" "$(ratio "$gz_s" "$gz_floor")" "$(mib "$gz_kb")"
printf '| the gzip image in a registry (in-process, %s Mbit/s) | download of every layer, all at once |' "${IMAGEGATE_BENCH_MBITS:-1000}"; printf ' %s | %s | %s | <= 1.2 | %s |\n' "$dl_s" "$reg_s" "$(ratio "$reg_s" "$dl_s")" "$(mib "$reg_kb")"

printf '\n| flat image | files | layers | stored MiB | scan s | peak RSS MiB | gzip -dc s | ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
for size in 100m 400m 1g; do
  for kind in "" -gzip; do
    img="$dir/flat-$size$kind.tar"
    files=$(tar -xOf "$img" --wildcards '*.tar*' 2>/dev/null | { [ -n "$kind" ] && gzip -dc || cat; } | tar -ti 2>/dev/null | wc -l)
    layers=$(tar -tf "$img" | grep -c -e '/layer.tar$' -e '.tar.gz$')
    read -r s kb < <(measure "$ig" scan "docker-archive:$img" "${scanargs[@]}")
    floor=- r=-
    if [ -n "$kind" ]; then
      read -r floor _ < <(measure bash -c "tar -xOf '$img' --wildcards '*.tar.gz' | gzip -dc >/dev/null")
      r=$(ratio "$s" "$floor")
    fi
    printf '| %s%s | %s | %s | %d | %s | %s | %s | %s |\n' "$size" "$kind" "$files" "$layers" "$(( $(stat -c %s "$img") >> 20 ))" "$s" "$(mib "$kb")" "$floor" "$r"
  done
done
