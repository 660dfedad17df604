"""Cognate: train, checkpoint, load, test and report on small recursive-memory language models."""

__version__ = "0.1.0"
