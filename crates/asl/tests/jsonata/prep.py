#!/usr/bin/env python3
"""Builds suite-2.0.6.jsonl and datasets-2.0.6.json from jsonata-js's test suite at tag v2.0.6
(the JSONata version Step Functions runs): one case a line, the datasets once.

Usage: prep.py <jsonata-js git dir>   (e.g. a `git clone` of github.com/jsonata-js/jsonata)
"""
import json, subprocess, sys

repo = sys.argv[1]
TAG = "v2.0.6"

def git(*args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True).stdout

def show(path):
    return git("show", f"{TAG}:{path}").decode()

base = "test/test-suite"
files = git("ls-tree", "-r", "--name-only", TAG, base).decode().split()
datasets = {}
for f in files:
    if f.startswith(f"{base}/datasets/") and f.endswith(".json"):
        datasets[f.split("/")[-1][:-5]] = json.loads(show(f))
groups = sorted(f for f in files if f.startswith(f"{base}/groups/") and f.endswith(".json"))
out = open("suite-2.0.6.jsonl", "w")
used = set()
for f in groups:
    group, name = f.split("/")[-2], f.split("/")[-1]
    spec = json.loads(show(f))
    specs = spec if isinstance(spec, list) else [spec]
    for i, c in enumerate(specs):
        expr = c.get("expr")
        if "expr-file" in c:
            expr = show(f"{base}/groups/{group}/{c['expr-file']}")
        rec = {"id": f"{group}/{name}" + (f"#{i}" if isinstance(spec, list) else ""), "expr": expr}
        if c.get("dataset") is not None:
            rec["dataset"] = c["dataset"]
            used.add(c["dataset"])
        elif "data" in c:
            rec["data"] = c["data"]
        if c.get("bindings"):
            rec["bindings"] = c["bindings"]
        if "undefinedResult" in c:
            rec["undefined"] = True
        elif "result" in c:
            rec["result"] = c["result"]
        code = (c.get("error") or {}).get("code") or c.get("code")
        if code:
            rec["code"] = code
        if c.get("unordered"):
            rec["unordered"] = True
        out.write(json.dumps(rec, separators=(",", ":"), ensure_ascii=True) + "\n")
json.dump({k: datasets[k] for k in sorted(used)}, open("datasets-2.0.6.json", "w"), separators=(",", ":"), ensure_ascii=True)
