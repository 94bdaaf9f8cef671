"""One training run end to end: fitting and fine-tuning, calibration and the flag line
(with trainer.bundle.calibration), the bundles and the
run folder written (RunDir), the ensemble fitted on validation, the time estimate, recalibration of a
finished run."""
