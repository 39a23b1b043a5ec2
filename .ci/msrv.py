#!/usr/bin/env python3
"""Checks that the declared rust-version is at least the newest rust-version
any (normal or build) dependency declares: the lockfile decides what compiles,
and a rust-version below what it needs is a promise the crate cannot keep.
No other toolchain is reachable here, so this reads the dependencies' own
declarations instead of compiling with an old compiler."""
import json
import subprocess
import sys


def version(text):
    return tuple(int(x) for x in (text or "0").split("."))


meta = json.loads(
    subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
failed = False
for member in meta["workspace_members"]:
    declared = version(packages[member].get("rust_version"))
    seen, stack = set(), [member]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            if any(k["kind"] in (None, "build") for k in dep["dep_kinds"]):
                stack.append(dep["pkg"])
    seen.discard(member)
    need, who = max((version(packages[i].get("rust_version")), packages[i]["name"]) for i in seen) if seen else ((0,), "")
    name = packages[member]["name"]
    if need[:2] > declared[:2]:
        print(f"{name}: rust-version {'.'.join(map(str, declared))} is below {who}'s {'.'.join(map(str, need))}")
        failed = True
    else:
        print(f"{name}: rust-version {'.'.join(map(str, declared))} covers every dependency (newest: {who} {'.'.join(map(str, need))})")
sys.exit(1 if failed else 0)
