"""Benchmark harness: data generator and measured timings (not imported by the app)."""
