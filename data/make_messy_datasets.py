"""Copy the two messy datasets from their PyPI packages into data/ (byte for byte for the
penguins; the cars JSON written as CSV).

    python3 -m venv /tmp/venv-data
    /tmp/venv-data/bin/pip install palmerpenguins==0.1.6 vega_datasets==0.9.0
    /tmp/venv-data/bin/python data/make_messy_datasets.py

Only the standard library is used here; the packages are located through importlib.
"""

import csv
import importlib.util
import json
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        sys.exit(f"package {name} is not installed")
    return Path(spec.origin).parent


def penguins() -> None:
    src = package_dir("palmerpenguins") / "data" / "penguins-raw.csv"
    shutil.copyfile(src, OUT / "penguins_raw.csv")


def cars() -> None:
    rows = json.loads((package_dir("vega_datasets") / "_data" / "cars.json").read_text())
    fields = list(rows[0].keys())
    with open(OUT / "cars.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(fields)
        for r in rows:
            # JSON null -> empty cell; numbers as JSON wrote them (repr of int/float).
            w.writerow(["" if r.get(k) is None else r[k] for k in fields])


if __name__ == "__main__":
    penguins()
    cars()
