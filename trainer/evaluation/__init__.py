"""What a run and a bundle measure: metrics with intervals, evaluation on another folder, the paper and
multi-source benchmarks (leave one source out), the self-test probes, figures and bundle reports."""
