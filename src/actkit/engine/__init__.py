"""Engine: trainer, evaluator, exporter, predictor and benchmarks."""
