#!/usr/bin/env python3
"""Cross-check the Rust replay against the reference model.

    python3 diff_many.py [--bin PATH] FILE.jsonl ...        compare given days
    python3 diff_many.py [--bin PATH] --seeds 1-100 [--kinds registry,exchange,compliance,mixed] [--lines 400]
    python3 diff_many.py [--bin PATH] --seeds 1-300 --kinds supervision,energy     (RULEBOOK v3, 14 and 15)

For each day prints ok, or the first differing results line (with the command)
and the first differing fields.  Generated days that differ are kept under
/tmp/carbon-diff/.
"""
import argparse
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import carbon_ref as ref  # noqa: E402
from compare import diff  # noqa: E402
import gen_day  # noqa: E402


def run_rust(binary, path):
    p = subprocess.run([binary, "replay", path, "--json"], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        return None, p.stderr.strip()[-300:]
    return json.loads(p.stdout), None


def compare(binary, path):
    text = open(path, encoding="utf-8").read()
    try:
        mine = ref.replay(text)
    except ref.Abort as e:
        mine = None
    rust, err = run_rust(binary, path)
    if mine is None or rust is None:
        if mine is None and rust is None:
            return []
        return ["replayability differs: model %s, rust %s" % ("aborts" if mine is None else "replays",
                                                            "fails: " + str(err) if rust is None else "replays")]
    mine = json.loads(json.dumps(mine))
    out = []
    lines = text.split("\n")
    rr = {r["line"]: r for r in rust.get("results", [])}
    for r in mine["results"]:
        o = rr.get(r["line"])
        if o != r:
            out.append("first differing result at line %d: model %s, rust %s\n    %s" % (
                r["line"], json.dumps(r), json.dumps(o), lines[r["line"] - 1][:300]))
            break
    out += diff(mine, rust, limit=8)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(here, "..", "..", "target", "debug", "carbon"))
    ap.add_argument("--seeds")
    ap.add_argument("--kinds", default="registry,exchange,compliance,mixed")
    ap.add_argument("--lines", type=int, default=400)
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    bad = 0
    jobs = list(a.files)
    if a.seeds:
        lo, hi = (int(x) for x in a.seeds.split("-"))
        os.makedirs("/tmp/carbon-diff", exist_ok=True)
        for s in range(lo, hi + 1):
            for k in a.kinds.split(","):
                path = "/tmp/carbon-diff/gen-%d-%s.jsonl" % (s, k)
                with open(path, "w") as fh:
                    fh.write(gen_day.Gen(s, k, a.lines).run())
                jobs.append(path)
    for path in jobs:
        d = compare(a.bin, path)
        if d:
            bad += 1
            print("DIFF %s" % path)
            for line in d:
                print("   ", line)
        else:
            print("ok   %s" % path)
            if a.seeds and path.startswith("/tmp/carbon-diff/gen-"):
                os.remove(path)
    print("%d of %d days differ" % (bad, len(jobs)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
