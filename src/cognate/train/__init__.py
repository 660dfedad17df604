"""Training: the options of a run, the loop (`trainer`), and what it is built from."""

from cognate.errors import CognateError


class TrainingError(CognateError):
    """Training cannot go on (non-finite losses, a bad run directory, ...)."""
