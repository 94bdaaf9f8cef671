"""Copy a few sample dermoscopic images from $MELANOMA_DATA (or --data) into a build folder and
record what the shipped models say about them (``expected.json``), for ``--self-test``.

Run by build.spec; the images come from the data folder at build time and are never committed.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=os.environ.get("MELANOMA_DATA"), help="folder holding ham10000/ (or a labels.csv)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", help="bundles (default: resources/models)")
    parser.add_argument("--backbones", default=os.environ.get("MELANOMA_BACKBONES"))
    parser.add_argument("--n-each", type=int, default=3)
    args = parser.parse_args()
    if not args.data:
        print("error: no sample data: set MELANOMA_DATA or pass --data", file=sys.stderr)
        return 2
    data = Path(args.data)
    data = data / "ham10000" if (data / "ham10000" / "labels.csv").is_file() else data
    rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for label in ("malignant", "benign"):
        for row in [r for r in rows if r["label"] == label][: args.n_each]:
            shutil.copy(data / "images" / row["image"], out / f"{label}_{row['image']}")

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.selftest import record_expected

    models = load_models(args.models, args.backbones)
    if not models.loaded:
        print(f"error: no model could be loaded from {models.directory}", file=sys.stderr)
        return 2
    print(f"recorded {record_expected(models, out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
