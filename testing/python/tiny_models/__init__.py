"""Tiny random model builders for the tests, one module per family (`python -m
tiny_models.janus OUT_DIR --preset test`): each writes a directory with the real key names,
configs and tokenizers of its family's releases, from random weights (random_weights.py), so the
family loads it as it loads a download. testing/tiny_models.ts builds each once per test run.
"""
