"""`python -m bench [--quick] [--only B1]`: discover bench/b*_*.py and run each `run(args)`."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer runs")
    parser.add_argument("--only", action="append", default=[], help="run only these (e.g. B1); repeatable")
    args = parser.parse_args()
    wanted = {o.upper() for o in args.only}
    here = Path(__file__).resolve().parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        tag = info.name.split("_", 1)[0].upper()
        if not (info.name.startswith("b") and "_" in info.name and tag[1:].isdigit()):
            continue
        if wanted and tag not in wanted:
            continue
        importlib.import_module(f"bench.{info.name}").run(args)


if __name__ == "__main__":
    main()
