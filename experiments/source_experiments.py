"""One change at a time against the multi-source recipe, scored leave-one-source-out (docs/results.md).

    python experiments/source_experiments.py --data ../shared/data/ham10000 --data ../shared/data/isic2017 \
        --data ../shared/data/derm7pt --data ../shared/data/isic2020 --backbones ../shared/backbones \
        --experiment finetune-mobilenetv2 --leave-out derm7pt --models mobilenetv2 --out runs/experiments

Each experiment is the ``multisource`` preset with the overrides below, run by the multi-source benchmark
(trainer.experiments.loso) into ``OUT/<experiment>/``: ``all`` plus one ``without-NAME`` run per ``--leave-out``.
Runs already finished with the same configuration are reused (the feature cache is shared between them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXPERIMENTS: dict[str, dict] = {
    "frozen": {},  # the multisource preset itself: frozen bases, one strongly augmented copy
    "no-augmentation": {"augment": False},
    "finetune-mobilenetv2": {"finetune": {"mobilenetv2": {"epochs": 12, "learning_rate": 5e-5, "patience": 4}},
                             "plateau": {"mobilenetv2": {"factor": 0.5, "patience": 2}}},
    "without-bcc-scc-ak": {"exclude_dx": ("bcc", "scc", "akiec", "ak")},
    "mobilenetv2-alpha-1.0": {"mobilenet_alpha": 1.0},
    "cnn-25-minutes": {"max_minutes_per_model": 25},  # the pooled CNN, cut at 25 minutes of training (CPU)
    "cnn-110-minutes": {"max_minutes_per_model": 110},  # the same, given room for all its epochs on this CPU
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", required=True, metavar="DIR")
    parser.add_argument("--experiment", required=True, choices=sorted(EXPERIMENTS))
    parser.add_argument("--leave-out", action="append", default=[], metavar="NAME")
    parser.add_argument("--models", default="vgg16,mobilenetv2")
    parser.add_argument("--only-left-out", action="store_true", help="skip the run on every source")
    parser.add_argument("--backbones")
    parser.add_argument("--cache-dir")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from trainer.cli import _Printer
    from trainer.experiments.loso import run_source_benchmark, sources_markdown

    results = run_source_benchmark(args.data, Path(args.out) / args.experiment, leave_out=args.leave_out,
                                   models=tuple(m for m in args.models.split(",") if m), backbones=args.backbones,
                                   cache_dir=args.cache_dir, overrides=dict(EXPERIMENTS[args.experiment]),
                                   on_progress=_Printer(), include_all=not args.only_left_out)
    print(sources_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
