"""Run every benchmarks/bench_*.py and report each figure as a ratio against a baseline of the same run.

Each bench module has ``run(quick: bool) -> list[dict]``; a row holds ``name``, ``value``, ``unit``,
``baseline`` (the same quantity for the baseline in this run), ``ratio`` and ``goal`` (text, optional).
Usage: ``python benchmarks/run.py [--quick] [NAME ...]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these benches (e.g. consensus)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args(argv)
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        short = path.stem.removeprefix("bench_")
        if args.names and short not in args.names:
            continue
        print(f"# {short}", flush=True)
        for row in load(path).run(quick=args.quick):
            row = {"bench": short, **row}
            rows.append(row)
            print(f"  {row['name']:<48} {row['value']:>12.4g} {row['unit']:<10} "
                  f"baseline {row['baseline']:>10.4g}  ratio {row['ratio']:>8.2f}  {row.get('goal', '')}", flush=True)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (out / f"{stamp}.json").write_text(json.dumps({"python": sys.version, "machine": platform.platform(),
                                                    "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
