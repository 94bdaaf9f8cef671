"""The refactoring check of #29: `triage --json` on 20 real images (five from each source, picked by name) and one
file that is not an image, run with the shipped models in a fresh data folder; the output is written to a file, or
compared byte for byte with one written before a structural step.

    python scripts/triage_identity.py --write before.jsonl
    ... restructure ...
    python scripts/triage_identity.py --compare before.jsonl     # exit 1 and a diff when one byte differs

Reads the images through $MELANOMA_DATA (or --data) and the backbones through $MELANOMA_BACKBONES.
"""

import argparse
import difflib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCES = ("ham10000", "isic2017", "derm7pt", "isic2020")
PER_SOURCE = 5


def pick_images(data: Path) -> list[Path]:
    """Five images of each source, spread evenly over its files sorted by name (the same ones on every run)."""
    picked = []
    for source in SOURCES:
        files = sorted(p for p in (data / source / "images").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg",
                                                                                               ".png"))
        if not files:
            raise SystemExit(f"no images under {data / source / 'images'}: point --data or $MELANOMA_DATA at the "
                             "shared data folder")
        step = len(files) // PER_SOURCE
        picked += [files[i * step] for i in range(PER_SOURCE)]
    return picked


def run_triage(data: Path) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        not_an_image = Path(tmp) / "not_an_image.jpg"
        not_an_image.write_text("this is a text file with an image's name\n")
        home = Path(tmp) / "home"
        env = {**os.environ, "MELANOMA_HOME": str(home), "MELANOMA_DATABASE_URL": "",
               "TF_CPP_MIN_LOG_LEVEL": "3"}
        paths = [str(p) for p in pick_images(data)] + [str(not_an_image)]
        done = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--json", *paths],
                              capture_output=True, env=env, cwd=Path(__file__).resolve().parents[1])
        # The non-image's path lies in a temporary folder: name it the same way on every run.
        return (done.stdout.replace(str(not_an_image).encode(), b"<not_an_image.jpg>")
                + f"exit status {done.returncode}\n".encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("MELANOMA_DATA"),
                        help="the shared data folder (default: $MELANOMA_DATA)")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", type=Path, metavar="OUT.jsonl")
    what.add_argument("--compare", type=Path, metavar="BEFORE.jsonl")
    args = parser.parse_args()
    if args.data is None:
        parser.error("give --data or set $MELANOMA_DATA")
    output = run_triage(Path(args.data))
    if args.write:
        args.write.write_bytes(output)
        print(f"{len(output.splitlines())} lines written to {args.write}")
        return 0
    before = args.compare.read_bytes()
    if before == output:
        print(f"byte-identical: {len(output)} bytes, {len(output.splitlines())} lines")
        return 0
    sys.stdout.writelines(difflib.unified_diff(before.decode().splitlines(True), output.decode().splitlines(True),
                                               "before", "now"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
