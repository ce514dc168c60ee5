"""Helpers for tests and benchmarks that are generic, not tied to one test file (as ``mmdet.testing``): synthetic
detection batches, BatchNorm statistics, a local HTTP server for download tests, checkpoints as mmengine writes
them. pytest fixtures that wrap them live in tests/conftest.py."""
