"""The TRM x Titans-MAG model. It sees token ids, never text."""

from cognate.model.cache import DecodeState
from cognate.model.model import IGNORE_INDEX, CognateModel, Inference, ModelOutput

__all__ = ["IGNORE_INDEX", "CognateModel", "DecodeState", "Inference", "ModelOutput"]
