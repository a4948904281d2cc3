#!/bin/sh
# Replays the shared example days and the project's market days through the
# reference model and compares with their expected reports (parsed JSON).
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
status=0
for f in "$root"/tests/market-days/*.jsonl; do
  exp="${f%.jsonl}.expected.json"
  [ -f "$exp" ] || continue
  out=$(mktemp)
  if python3 "$here/carbon_ref.py" "$f" > "$out" && python3 "$here/compare.py" "$out" "$exp" > "$out.diff"; then
    echo "ok   $(basename "$f")"
  else
    echo "FAIL $(basename "$f")"; head -5 "$out.diff"; status=1
  fi
  rm -f "$out" "$out.diff"
done
exit $status
