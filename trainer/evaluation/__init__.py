"""What a run and a bundle measure: metrics with intervals, the metric files and table, evaluation on another
folder, the self-test probes, figures and bundle reports. (The benchmarks are in trainer.experiments.)"""
