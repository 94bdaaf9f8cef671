"""Train the multi-source recipe with fine-tuning on one GPU, one model at a time, saving after each.

    python scripts/train_gpu.py --data ../shared/data/ham10000 --data ../shared/data/isic2017 \
        --data ../shared/data/derm7pt --data ../shared/data/isic2020 --backbones ../shared/backbones --out runs/gpu

Preset ``multisource-gpu`` (trainer.presets): every source split on its own, VGG16's blocks 4-5 and the whole
MobileNetV2 fine-tuned at a low learning rate on augmented pixels, the pooled CNN. Each model has
``--minutes / 3.5`` minutes (the preset's max_minutes_per_model; training ends after the epoch that passes it, the
best epoch kept), so the whole run fits in ``--minutes`` (default 8) with data decoding and the ensemble.
Each model is its own ``run_training`` call into ``--out``: a run cut short keeps every model finished before.
Works with Keras on TensorFlow or on JAX (``KERAS_BACKEND=jax``); the bundles are the same. Without a GPU it
runs on the CPU (slowly: the fine-tuning is sized for a GPU). ``--tiny`` shrinks everything (1-2 epochs, a
few images per source) to check the script itself on a CPU in a minute.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TINY = dict(epochs=1, cnn_epochs=1, batch_size=8, aug_copies=1, protocol="full",
            finetune={"vgg16": {"epochs": 1, "learning_rate": 1e-5, "from_block": 4},
                      "mobilenetv2": {"epochs": 1, "learning_rate": 5e-5}})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", action="append", required=True, metavar="DIR", help="a source (repeat: several)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--backbones", help="ImageNet weights folder (else $MELANOMA_BACKBONES, the shipped copies)")
    parser.add_argument("--models", default="mobilenetv2,vgg16,cnn", help="trained in this order")
    parser.add_argument("--leave-out", metavar="NAME", help="train without this source and score it whole")
    parser.add_argument("--minutes", type=float, default=8.0, help="the whole run's budget (default 8)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cache-dir")
    parser.add_argument("--tiny", action="store_true", help="a quick check of the script (not a real model)")
    args = parser.parse_args(argv)

    import keras

    if keras.backend.backend() == "tensorflow":
        from trainer.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    from trainer.cli import _Printer
    from trainer.models.devices import describe_device
    from trainer.presets import preset_config
    from trainer.training.train import run_training

    device = describe_device()
    print(f"device: {device}" + ("" if "GPU" in device else " (no GPU: this run is sized for one and will be slow)"))
    started = time.perf_counter()
    overrides = dict(TINY) if args.tiny else {}
    overrides["max_minutes_per_model"] = round(args.minutes / 3.5, 2)
    timings = {}
    for name in [m for m in args.models.split(",") if m]:
        config = preset_config("multisource-gpu", args.data[0], args.out, sources=list(args.data) if len(args.data) > 1
                               else [], leave_out=args.leave_out, models=(name,), backbones=args.backbones,
                               cache_dir=args.cache_dir, seed=args.seed, allow_download=False, **overrides)
        begun = time.perf_counter()
        run_training(config, on_progress=_Printer())
        timings[name] = round(time.perf_counter() - begun, 1)
        print(f"{name}: saved in {args.out}/{name} ({timings[name]} s; {time.perf_counter() - started:.0f} s so far)")
    total = round(time.perf_counter() - started, 1)
    Path(args.out, "gpu_run.json").write_text(json.dumps(
        {"device": device, "seconds_per_model": timings, "seconds": total, "budget_minutes": args.minutes,
         "tiny": args.tiny}, indent=2), encoding="utf-8")
    print(f"done in {total} s ({total / 60:.1f} min; budget {args.minutes} min) on {device}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
