#!/usr/bin/env python3
"""Lists the public symbols of the Weft module that have no documentation comment, and exits 1
if there is any (Scripts/test.sh runs it after `swift package generate-documentation`, which
leaves the module's symbol graph under .build/*/extracted-symbols/).

A symbol counts when it is public or open, is declared in Sources/Weft (symbols inherited from
the standard library have no location there), and is not an extension block (its members are
checked one by one). Protocol requirements implemented without a comment inherit the
protocol's documentation in the symbol graph and pass.

Usage: Scripts/doc-coverage.py [SYMBOL_GRAPH.json]
"""
import glob
import json
import os
import sys


def symbol_graph():
    if len(sys.argv) > 1:
        return sys.argv[1]
    found = glob.glob(".build/*/extracted-symbols/*/Weft/Weft.symbols.json")
    if not found:
        sys.exit("doc-coverage: no Weft.symbols.json under .build (run swift package generate-documentation first)")
    return max(found, key=os.path.getmtime)


def main():
    path = symbol_graph()
    with open(path) as f:
        graph = json.load(f)
    missing = []
    public = 0
    for s in graph["symbols"]:
        if s.get("accessLevel") not in ("public", "open") or s["kind"]["identifier"] == "swift.extension":
            continue
        uri = s.get("location", {}).get("uri", "")
        if "/Sources/Weft/" not in uri:
            continue
        public += 1
        if "docComment" not in s:
            line = s["location"].get("position", {}).get("line", 0) + 1
            missing.append(f"Sources/Weft/{uri.split('/Sources/Weft/')[1]}:{line}: {'.'.join(s['pathComponents'])}")
    for m in sorted(missing):
        print(f"undocumented public symbol: {m}")
    print(f"doc-coverage: {public - len(missing)} of {public} public symbols of Weft documented ({path})")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
