"""Exported scripts made from hostile specs, checked by Python's own parser (run by
tests/suite/export_hostile.rs under every Python 3.8+ the machine has).

    python ast_shape.py MANIFEST.json

MANIFEST lists cases {"name", "benign", "hostile", "texts"}: two script files and the texts the
hostile spec was given. Each hostile script must parse, have the benign script's syntax tree with
only constants' values changed, and hold every text inside one of its string constants. Prints
one line per failure and exits 1 if any.
"""
import ast
import json
import sys


def shape(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant):
            node.value = None
            node.kind = None
    return ast.dump(tree)


def strings(tree):
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        cases = json.load(f)
    failures = 0
    for case in cases:
        with open(case["benign"], "rb") as f:
            benign = f.read()
        with open(case["hostile"], "rb") as f:
            hostile = f.read()
        try:
            hostile_tree = ast.parse(hostile)
        except (SyntaxError, ValueError) as e:
            print(f"{case['name']}: does not parse: {e!r}")
            failures += 1
            continue
        values = strings(hostile_tree)
        if shape(ast.parse(benign)) != shape(hostile_tree):
            print(f"{case['name']}: its syntax tree differs from the benign export's")
            failures += 1
        for text in case["texts"]:
            if not any(text in value for value in values):
                print(f"{case['name']}: {text[:60]!r} is not inside any string constant")
                failures += 1
    print(f"{len(cases)} scripts checked with Python {sys.version.split()[0]}, {failures} failures")
    sys.exit(1 if failures else 0)


main()
