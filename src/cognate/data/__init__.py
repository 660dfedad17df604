"""Synthetic tasks, tokenizers, user data and batch streams."""
