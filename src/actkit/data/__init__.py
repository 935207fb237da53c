"""Datasets, decoding, sampling, transforms and synthetic data."""
