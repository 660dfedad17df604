import json
import random

import pytest
from tokenizers import pre_tokenizers

from cognate.data.tokenizer import (
    EOS,
    Tokenizer,
    TokenizerError,
    load_gpt2,
    parse_tokenizer_spec,
    train_bpe,
)

SAMPLES = [
    "Q: What is 25 + 17? A: 42",
    "The capital of Vorbelka is Tismun. Q: What is the capital of Vorbelka? A: Tismun",
    "  leading spaces, tabs\tand\nnewlines\r\n",
    "Ünïcödé: 東京, Ελληνικά, emoji 🙂👍🏽, zero-width \u200b joiner",
    f"two texts{EOS}joined",
]


def random_text(rng: random.Random, length: int) -> str:
    ranges = [(0x20, 0x7E), (0x09, 0x0D), (0xA0, 0x24F), (0x370, 0x3FF), (0x4E00, 0x4FFF)]
    ranges += [(0x1F300, 0x1F64F), (0xE000, 0xE0FF)]
    chars = []
    for _ in range(length):
        low, high = rng.choice(ranges)
        chars.append(chr(rng.randint(low, high)))
    return "".join(chars)


def test_digits_are_single_tokens(bpe):
    for digit in "0123456789":
        assert len(bpe.encode(" " + digit)) == 2  # the space, then the digit
    ids = bpe.encode(" 1234567890")
    assert [bpe.decode([i]) for i in ids] == [" ", *"1234567890"]
    assert bpe.decode(bpe.encode(" 42")) == " 42"


def with_leading_spaces(text: str) -> str:
    """What the BPE decodes `text` to: a space before it, and after each end-of-text in it,
    unless one is there already."""
    parts = text.split(EOS)
    return EOS.join(p if p.startswith(" ") or not p else " " + p for p in parts)


def test_round_trip_of_any_string(bpe):
    """Exact for a text that starts with a space; any other text gains one in front."""
    rng = random.Random(0)
    texts = SAMPLES + [random_text(rng, rng.randint(1, 60)) for _ in range(200)]
    for text in texts:
        spaced = with_leading_spaces(text)
        assert bpe.decode(bpe.encode(text)) == spaced
        assert bpe.decode(bpe.encode(spaced)) == spaced


def test_a_word_is_the_same_tokens_at_the_start_of_a_text(bpe):
    first = bpe.encode("Vorbelka owns a cat.")
    later = bpe.encode(" Q: Who owns the cat? A: Vorbelka")
    name = bpe.encode(" Vorbelka")
    assert first[: len(name)] == name and later[-len(name) :] == name


def test_eos_and_vocab(bpe):
    assert bpe.kind == "bpe"
    assert bpe.encode(EOS) == [bpe.eos_id]
    assert bpe.decode([bpe.eos_id]) == EOS
    assert 257 < bpe.vocab_size <= 400
    ids = [i for text in SAMPLES for i in bpe.encode(text)]
    assert max(ids) < bpe.vocab_size


def test_training_is_deterministic(bpe):
    corpus = ["Q: What is 3 + 4? A: 7", "The color of the zotorel is green."] * 50
    first, second = train_bpe(corpus, 300), train_bpe(corpus, 300)
    for text in SAMPLES:
        assert first.encode(text) == second.encode(text)
    with pytest.raises(TokenizerError, match="vocab_size"):
        train_bpe(corpus, 100)


def test_save_and_load(bpe, tmp_path):
    written = bpe.save(tmp_path / "run")
    assert written == tmp_path / "run" / "tokenizer.json"
    assert bpe.save(tmp_path / "other.json") == tmp_path / "other.json"
    for path in (tmp_path / "run", written, tmp_path / "other.json"):
        loaded = Tokenizer.load(path)
        assert (loaded.kind, loaded.vocab_size, loaded.eos_id) == ("bpe", bpe.vocab_size, 0)
        for text in SAMPLES:
            assert loaded.encode(text) == bpe.encode(text)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["tokenizer.json"]


def test_load_errors(tmp_path):
    with pytest.raises(TokenizerError, match=r"missing tokenizer\.json") as error:
        Tokenizer.load(tmp_path / "nowhere")
    assert "nowhere" in str(error.value)
    assert isinstance(error.value, ValueError)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(TokenizerError, match=r"not a valid tokenizer\.json"):
        Tokenizer.load(tmp_path)


@pytest.fixture
def gpt2_dir(tmp_path):
    """A tiny GPT-2-style vocab.json + merges.txt: the 256 byte symbols, 4 merges and eos."""
    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    merges = [("h", "e"), ("Ġ", "t"), ("Ġt", "he"), ("l", "l")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    vocab[EOS] = len(vocab)
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    lines = ["#version: 0.2", *(f"{left} {right}" for left, right in merges)]
    (tmp_path / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_gpt2_from_vocab_and_merges(gpt2_dir):
    tok = load_gpt2(gpt2_dir)
    assert (tok.kind, tok.vocab_size, tok.eos_id) == ("gpt2", 261, 260)
    he, the, ll = 256, 258, 259
    ids = tok.encode("hello the")
    assert ids[:2] == [he, ll] and ids[-1] == the
    assert tok.encode(f"hi{EOS}") == [*tok.encode("hi"), 260]
    for text in SAMPLES:
        assert tok.decode(tok.encode(text)) == text
    reloaded = Tokenizer.load(tok.save(gpt2_dir / "saved"))
    assert reloaded.kind == "gpt2" and reloaded.encode("hello the") == ids
    assert load_gpt2(gpt2_dir / "saved").encode("hello the") == ids


def test_gpt2_missing_files(tmp_path, gpt2_dir):
    (gpt2_dir / "merges.txt").unlink()
    with pytest.raises(TokenizerError, match=r"missing: merges\.txt") as error:
        load_gpt2(gpt2_dir)
    assert str(gpt2_dir) in str(error.value)
    with pytest.raises(TokenizerError, match="no such file"):
        load_gpt2(tmp_path / "absent")


def test_gpt2_vocab_without_eos(tmp_path):
    vocab = {symbol: i for i, symbol in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    (tmp_path / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (tmp_path / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    with pytest.raises(TokenizerError, match="has no <\\|endoftext\\|> token"):
        load_gpt2(tmp_path)


def test_parse_tokenizer_spec(tmp_path):
    assert parse_tokenizer_spec("bpe") == ("bpe", None)
    assert parse_tokenizer_spec(f"gpt2:{tmp_path}") == ("gpt2", tmp_path)
    for bad in ("gpt2", "gpt2:", "sentencepiece", ""):
        with pytest.raises(TokenizerError, match="gpt2:PATH"):
            parse_tokenizer_spec(bad)
