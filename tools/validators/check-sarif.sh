#!/usr/bin/env bash
# Validates SARIF files with Microsoft's SARIF multitool and GitHub's ingestion rules
# (--rule-kind "Sarif;Gh"), all in one run (the tool takes ~25 s to start here). The
# multitool exits 0 even when it finds errors, so this reads its report and fails on any
# result of level "error"; warnings are printed.
# Usage: tools/validators/check-sarif.sh FILE.sarif...
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mt="$here/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
[ -x "$mt" ] || chmod u+x "$mt"   # its postinstall may not have run
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
report=$(mktemp --suffix=.sarif)
trap 'rm -f "$report"' EXIT
# The npm wrapper goes through a shell, where the ';' in "Sarif;Gh" breaks: call the binary.
"$mt" validate "$@" --rule-kind "Sarif;Gh" -o "$report" --log ForceOverwrite >/dev/null
python3 - "$report" "$#" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
errors = warnings = 0
for run in doc.get("runs", []):
    for r in run.get("results", []):
        level = r.get("level", "warning")
        if level not in ("error", "warning"):
            continue
        msg = r.get("message", {})
        text = msg.get("text") or (msg.get("id", "") + " " + " ".join(msg.get("arguments", [])))
        where = ""
        for loc in r.get("locations", []):
            where = loc.get("physicalLocation", {}).get("artifactLocation", {}).get("uri", "")
        print(f"{where}: {level} {r.get('ruleId')}: {text}")
        errors += level == "error"
        warnings += level == "warning"
print(f"sarif-multitool (Sarif;Gh): {sys.argv[2]} files, {errors} errors, {warnings} warnings")
sys.exit(1 if errors else 0)
PY
