import pytest

from cognate.data.datasets import train_corpus
from cognate.data.tasks import FAMILIES
from cognate.data.tokenizer import Tokenizer, train_bpe

ALL_FAMILIES = dict.fromkeys(FAMILIES, 1.0)


@pytest.fixture(scope="session")
def bpe() -> Tokenizer:
    """A small BPE trained on every task family."""
    return train_bpe(train_corpus(ALL_FAMILIES, 2_000, seed=0), vocab_size=400)
