"""Cognate: train, checkpoint, load, test and report on small recursive-memory language models.

from cognate import load
bundle = load("runs/demo/reasoning/best")
bundle.generate("Q: What is 2 + 2? A:", greedy=True)
"""

from cognate.infer.bundle import Bundle, load

__version__ = "0.1.0"
__all__ = ["Bundle", "__version__", "load"]
