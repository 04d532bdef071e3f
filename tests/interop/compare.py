"""Compares an exported script's results with `patchbay run`'s: every grid and metric the
script wrote must be in Patchbay's result with the same shape and values within the tolerance;
generated token ids must be equal. Exits 1 with the differences listed.

    python compare.py PATCHBAY.json EXPORTED.json [TOLERANCE]
"""
import json
import math
import sys


def close(a, b, tolerance):
    # Patchbay writes NaN (an undefined value) as null.
    a, b = (math.nan if v is None else v for v in (a, b))
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tolerance * max(1.0, abs(b))


def main(patchbay_path, exported_path, tolerance=1e-4):
    with open(patchbay_path) as f:
        patchbay = json.load(f)
    with open(exported_path) as f:
        exported = json.load(f)
    problems, checked = [], 0
    for name, grid in exported["grids"].items():
        ours = patchbay["grids"].get(name)
        if ours is None:
            problems.append(f"grid {name}: not in Patchbay's result")
            continue
        if ours["shape"] != grid["shape"]:
            problems.append(f"grid {name}: shape {grid['shape']}, Patchbay {ours['shape']}")
            continue
        bad = [i for i, (a, b) in enumerate(zip(grid["values"], ours["values"])) if not close(a, b, tolerance)]
        if bad:
            i = bad[0]
            problems.append(f"grid {name}: {len(bad)} of {len(bad and grid['values'])} values differ, "
                            f"first at {i}: {grid['values'][i]} vs Patchbay {ours['values'][i]}")
        checked += len(grid["values"])
    for name, value in exported["metrics"].items():
        ours = patchbay["metrics"].get(name)
        if ours is None or not close(value, ours, tolerance):
            problems.append(f"metric {name}: {value} vs Patchbay {ours}")
        checked += 1
    for name, generation in exported["generations"].items():
        ours = patchbay["generations"].get(name)
        theirs = generation["generation"]["new_ids"]
        if ours is None or ours["generation"]["new_ids"] != theirs:
            problems.append(f"generation {name}: {theirs} vs Patchbay "
                            f"{ours and ours['generation']['new_ids']}")
        checked += len(theirs)
        steps = (ours or {}).get("generation", {}).get("steps", [])
        for i, p in enumerate(generation["generation"].get("p_desired", [])):
            mine = steps[i].get("p_desired") if i < len(steps) else None
            if mine is None or abs(mine - p) > 1e-4:
                problems.append(f"generation {name} step {i}: P(desired) {p} vs Patchbay {mine}")
            checked += 1
        for i, beam in enumerate(generation["generation"].get("beams", [])):
            mine = (ours or {}).get("generation", {}).get("beams", [])
            mine = mine[i] if i < len(mine) else None
            if mine is None or abs(mine["score"] - beam["score"]) > 1e-4 or (i == 0 and mine["new_ids"] != beam["new_ids"]):
                problems.append(f"generation {name} beam {i}: {beam} vs Patchbay {mine}")
            checked += 1
    if not checked:
        problems.append("the script wrote no results")
    for problem in problems:
        print("  " + problem)
    print(f"  {checked} values compared, {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], *(float(t) for t in sys.argv[3:])))
