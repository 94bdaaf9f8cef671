"""The experiments that train and compare many runs: the paper and extended benchmarks (benchmark) and the
multi-source benchmark that leaves one source out at a time (loso). The top of the trainer's layers below its
entry points: they use training, evaluation and the bundles, and nothing below imports them."""
