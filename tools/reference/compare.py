#!/usr/bin/env python3
"""compare.py A.json B.json: parsed-JSON equality; prints the first differences."""
import json, sys


def diff(a, b, path="", out=None, limit=10):
    if out is None:
        out = []
    if len(out) >= limit:
        return out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s/%s: %s vs %s" % (path, k, json.dumps(a.get(k, "<missing>"))[:200], json.dumps(b.get(k, "<missing>"))[:200]))
            else:
                diff(a[k], b[k], "%s/%s" % (path, k), out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            if i >= len(a) or i >= len(b):
                out.append("%s[%d]: %s vs %s" % (path, i, json.dumps(a[i] if i < len(a) else "<missing>")[:200], json.dumps(b[i] if i < len(b) else "<missing>")[:200]))
                break
            diff(a[i], b[i], "%s[%d]" % (path, i), out, limit)
    elif a != b or type(a) != type(b):
        out.append("%s: %s vs %s" % (path, json.dumps(a)[:200], json.dumps(b)[:200]))
    return out


if __name__ == "__main__":
    a = json.load(open(sys.argv[1]))
    b = json.load(open(sys.argv[2]))
    d = diff(a, b)
    for line in d:
        print(line)
    sys.exit(1 if d else 0)
