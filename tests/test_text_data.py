"""Text classification (Part I, Appendix C): JSON-lines loading, tokenisation, the training-set
vocabulary, padding and truncation, the stratified subset, availability messages, the text
transformer, its Config validation and preset, and a few training steps. All data are synthetic
files in a temporary folder; nothing is downloaded."""

from __future__ import annotations

import json
import re
import sys
import types

import numpy as np
import pytest
import torch

import grokutils as gu
from grokutils.config import Config
from grokutils.data import CLS, PAD, SPECIAL_TOKENS, TEXT_MAX_LEN, UNK

WORDS = {0: ("good", "great", "fine", "lovely"), 1: ("bad", "awful", "poor", "dull"),
         2: ("who", "where", "when", "why")}
TRAIN_PER_CLASS = (16, 12, 12)  # 40 training sentences, imbalanced like SST-2 and TREC-6


def sentence(label: int, index: int, extra: str = "") -> str:
    """A short sentence whose words give its label away; ``extra`` words appear only where added."""
    words = WORDS[label]
    return f"The film was {words[index % 4]}, {words[(index + 1) % 4]} {extra}!".replace("  ", " ")


def write_jsonl(path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": text, "label": label}) + "\n" for text, label in rows))


@pytest.fixture
def text_data(tmp_path, monkeypatch):
    """A tiny 'trec6'-shaped dataset (labels 0..2 of 6) under a GROKUTILS_DATA in tmp_path."""
    root = tmp_path / "data"
    train = [(sentence(label, i), label) for label, count in enumerate(TRAIN_PER_CLASS) for i in range(count)]
    test = [(sentence(label, i, extra="zebra"), label) for label in range(3) for i in range(4)]
    test.append(("word " * 200, 1))  # longer than TEXT_MAX_LEN: truncated
    write_jsonl(root / "trec6" / "train.jsonl", train)
    write_jsonl(root / "trec6" / "test.jsonl", test)
    monkeypatch.setenv("GROKUTILS_DATA", str(root))
    return root


def tiny_text(**changes) -> Config:
    values = dict(d_model=16, num_heads=4, d_mlp=32, num_train=20, num_steps=6, batch_size=10,
                  eval_schedule="every:3", device="cpu")
    return gu.presets.collapse_text("trec6", "smoke", **(values | changes))


# ------------------------------------------------------------------ loading
def test_loading_reads_every_test_sentence_and_the_asked_training_size(text_data):
    data = gu.data.text_classification("trec6", num_train=20, data_seed=0)
    assert data.x_train.shape == (20, TEXT_MAX_LEN) and data.x_test.shape == (13, TEXT_MAX_LEN)
    assert data.x_train.dtype == torch.long and data.input_shape == (TEXT_MAX_LEN,)
    assert data.num_classes == 6 and data.tokenizer == "word"
    assert data.vocab_size == len(data.vocabulary) and data.vocabulary[:3] == SPECIAL_TOKENS
    assert data.y_test.tolist() == [0] * 4 + [1] * 4 + [2] * 4 + [1]
    assert int(data.x_train.max()) < data.vocab_size and int(data.x_test.min()) >= 0
    assert data.provenance == {"tokenizer": "word", "vocab_size": data.vocab_size}


def test_vocabulary_is_restricted_to_training_tokens(text_data):
    data = gu.data.text_classification("trec6", num_train=20, data_seed=0)
    seen = {data.vocabulary[i] for i in data.x_train.unique().tolist()}
    assert set(data.vocabulary) == seen | {UNK}  # every non-special entry comes from a training sentence
    assert "zebra" not in data.vocabulary  # a test-only word
    assert len(data.vocabulary) == len(set(data.vocabulary))
    # the ids decode to the lowercase word-level tokens of the sentences
    first = [data.vocabulary[i] for i in data.x_train[0].tolist() if data.vocabulary[i] != PAD]
    assert first[:4] == ["the", "film", "was", first[3]] and first[-1] == CLS and "," in first


def test_unseen_test_tokens_become_unk(text_data):
    data = gu.data.text_classification("trec6", num_train=20, data_seed=0)
    unk = data.vocabulary.index(UNK)
    assert (data.x_train != unk).all()  # every training token is in the vocabulary
    assert ((data.x_test[:12] == unk).sum(1) >= 1).all()  # 'zebra' in every synthetic test sentence
    assert (data.x_test[12, :TEXT_MAX_LEN - 1] == unk).all()  # 'word' never occurs in training


def test_padding_truncation_and_class_token_last(text_data):
    data = gu.data.text_classification("trec6", num_train=40, data_seed=0)
    pad, cls = data.vocabulary.index(PAD), data.vocabulary.index(CLS)
    x = torch.cat([data.x_train, data.x_test])
    assert (x[:, -1] == cls).all() and (x[:, :-1] != cls).all()
    assert (data.x_test[12] != pad).all()  # 200 words fill every position before [CLS]
    short = data.x_train[0]
    length = int((short != pad).sum()) - 1  # tokens before [CLS]
    assert 0 < length < TEXT_MAX_LEN - 1
    assert (short[:length] != pad).all() and (short[length:-1] == pad).all()  # padding after the text


def test_encode_by_hand():
    vocabulary = SPECIAL_TOKENS + ("a", "b")
    ids = gu.data.encode([["a", "b", "c"], ["b"] * 9], vocabulary, max_len=5)
    assert ids.tolist() == [[3, 4, 1, 0, 2], [4, 4, 4, 4, 2]]
    with pytest.raises(ValueError, match="max_len"):
        gu.data.encode([["a"]], vocabulary, max_len=1)


def test_word_tokenizer_lowercases_and_splits_punctuation():
    assert gu.data.word_tokens("It's GREAT, isn't it?") == ["it", "'", "s", "great", ",", "isn", "'", "t", "it", "?"]


def test_build_vocabulary_orders_by_frequency_then_alphabet():
    vocabulary = gu.data.build_vocabulary([["b", "a", UNK], ["b", "c"], ["a", "b"]])
    assert vocabulary == SPECIAL_TOKENS + ("b", "a", "c")  # a literal '[UNK]' token is not duplicated


# ------------------------------------------------------------------- subset
def test_subset_is_stratified_seeded_and_sized(text_data):
    labels = np.repeat([0, 1, 2], TRAIN_PER_CLASS)
    chosen = gu.data.stratified_subset(labels, 20, seed=0)
    assert len(chosen) == len(set(chosen.tolist())) == 20 and (np.diff(chosen) > 0).all()
    assert np.bincount(labels[chosen]).tolist() == [8, 6, 6]  # 16:12:12 of 40, halved
    assert np.array_equal(chosen, gu.data.stratified_subset(labels, 20, seed=0))
    assert not np.array_equal(chosen, gu.data.stratified_subset(labels, 20, seed=1))
    assert np.bincount(labels[gu.data.stratified_subset(labels, 7, seed=0)]).tolist() == [3, 2, 2]
    balanced = np.repeat(np.arange(4), 10)
    assert np.bincount(balanced[gu.data.stratified_subset(balanced, 8, seed=3)]).tolist() == [2] * 4
    data = gu.data.text_classification("trec6", num_train=20, data_seed=0)
    assert torch.bincount(data.y_train).tolist() == [8, 6, 6]
    again = gu.data.text_classification("trec6", num_train=20, data_seed=0)
    other = gu.data.text_classification("trec6", num_train=20, data_seed=1)
    assert torch.equal(again.x_train, data.x_train) and again.vocabulary == data.vocabulary
    assert not torch.equal(other.x_train, data.x_train)


@pytest.mark.parametrize("num_train", [0, 41])
def test_subset_size_out_of_range(text_data, num_train):
    with pytest.raises(ValueError, match=f"num_train={num_train}"):
        gu.data.text_classification("trec6", num_train=num_train)


# -------------------------------------------------------- files and errors
def test_availability_with_and_without_the_files(text_data, tmp_path):
    ok, why = gu.data.availability("trec6")
    assert ok and str(text_data / "trec6") in why and "word-level fallback" in why
    assert "bert-base-uncased" in why  # says how to get the paper's tokenizer
    empty = tmp_path / "empty"
    ok, why = gu.data.availability("sst2", empty)
    assert not ok
    assert str(empty / "sst2" / "train.jsonl") in why and str(empty / "sst2" / "test.jsonl") in why
    assert "export_text_jsonl('sst2'" in why and "GROKUTILS_DATA" in why and "datasets" in why
    (text_data / "trec6" / "test.jsonl").unlink()
    ok, why = gu.data.availability("trec6")
    assert not ok and str(text_data / "trec6" / "test.jsonl") in why
    assert str(text_data / "trec6" / "train.jsonl") not in why


def test_loading_without_files_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("GROKUTILS_DATA", str(tmp_path))
    with pytest.raises(RuntimeError, match=re.escape(str(tmp_path / "ag_news" / "train.jsonl"))):
        gu.data.load(gu.presets.collapse_text("ag_news", "smoke"))
    with pytest.raises(ValueError, match="download"):
        gu.data.load(gu.presets.collapse_text("ag_news", "smoke"), download=True)
    with pytest.raises(ValueError, match="mnist"):
        gu.data.text_classification("mnist")


@pytest.mark.parametrize("line, shown", [
    ('{"text": "fine", "label": 7}', "label=7"),
    ('{"text": "fine", "label": "1"}', "label='1'"),
    ('{"text": 3, "label": 1}', "text=3"),
    ('{"sentence": "fine", "label": 1}', "'text' and 'label'"),
    ('not json', "'text' and 'label'"),
])
def test_malformed_lines_name_file_and_line(text_data, line, shown):
    path = text_data / "trec6" / "test.jsonl"
    path.write_text('{"text": "ok", "label": 0}\n' + line + "\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 2")) as info:
        gu.data.text_classification("trec6", num_train=20)
    assert shown in str(info.value)


def test_wordpiece_is_used_where_tokenizers_and_the_vocabulary_exist(text_data, monkeypatch):
    """A stand-in for the `tokenizers` package (not installed here): the loader must choose it, pass
    the vocab.txt path, ask for no special tokens, and record 'wordpiece'."""
    calls = {}

    class FakeWordPiece:
        def __init__(self, vocab, lowercase):
            calls["init"] = (vocab, lowercase)

        def encode_batch(self, texts, add_special_tokens):
            calls["special"] = add_special_tokens
            return [types.SimpleNamespace(tokens=[piece for w in gu.data.word_tokens(t)
                                                  for piece in [w[:3]] + [f"##{w[3:]}"] * (len(w) > 3)])
                    for t in texts]

    vocab = text_data / "bert-base-uncased" / "vocab.txt"
    vocab.parent.mkdir()
    vocab.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n")
    monkeypatch.setitem(sys.modules, "tokenizers", types.SimpleNamespace(BertWordPieceTokenizer=FakeWordPiece))
    data = gu.data.text_classification("trec6", num_train=20)
    assert data.tokenizer == "wordpiece" and calls == {"init": (str(vocab), True), "special": False}
    assert "##m" in data.vocabulary  # 'film' -> 'fil', '##m'
    ok, why = gu.data.availability("trec6")
    assert ok and "WordPiece" in why and "fallback" not in why
    vocab.unlink()  # the package alone is not enough
    assert gu.data.text_classification("trec6", num_train=20).tokenizer == "word"


def test_export_writes_the_format_the_loader_reads(tmp_path, monkeypatch):
    """export_text_jsonl with a stand-in `datasets` package (the real one downloads)."""
    splits = {"train": [{"text": "Who wrote it ?", "coarse_label": 3}, {"text": "How far ?", "coarse_label": 5}],
              "test": [{"text": "Where is it ?", "coarse_label": 4}]}

    class Rows(list):
        column_names = ["text", "coarse_label", "fine_label"]

    def load_dataset(source, configuration, split):
        assert (source, configuration) == ("CogComp/trec", None)
        return Rows(splits[split])

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    folder = gu.data.export_text_jsonl("trec6", tmp_path)
    assert folder == tmp_path / "trec6"
    texts, labels = gu.data.read_jsonl(folder / "train.jsonl", 6)
    assert texts == ["Who wrote it ?", "How far ?"] and labels.tolist() == [3, 5]
    assert gu.data.availability("trec6", tmp_path)[0]
    data = gu.data.text_classification("trec6", num_train=2, data_dir=tmp_path)
    assert data.y_test.tolist() == [4]


# -------------------------------------------------------------------- model
def test_text_transformer_class_token_sees_every_position_and_init_scale_hits_mlp_and_head_only(
        init_scale_hits_mlp_and_head_only):
    from grokutils.models import TextTransformer

    plain = init_scale_hits_mlp_and_head_only(
        lambda scale: TextTransformer(30, 10, 3, d_model=16, num_heads=4, d_mlp=32, init_scale=scale))
    assert plain.embed.padding_idx is None  # [PAD] is a random, trained embedding like the others
    assert float(plain.embed.weight[:3].detach().abs().sum()) > 0
    ids = torch.randint(3, 30, (4, 10))
    ids[:, -1] = 2
    assert plain(ids).shape == (4, 3) and plain.features(ids).shape == (4, 16)
    assert plain.first_layer(ids).shape == (4, 16)
    torch.testing.assert_close(plain.head(plain.features(ids)), plain(ids), atol=0, rtol=0)
    changed = ids.clone()
    changed[:, 0] = 1  # the first token only: the class token must see it
    assert not torch.allclose(plain(ids), plain(changed))


def test_build_makes_the_text_transformer_deterministically():
    from grokutils.models import TextTransformer

    config = tiny_text()
    a = gu.models.build(config, (TEXT_MAX_LEN,), 6, 25)
    torch.randn(5)
    b = gu.models.build(config, (TEXT_MAX_LEN,), 6, 25)
    assert isinstance(a, TextTransformer)
    assert a.embed.weight.shape == (25, 16) and a.pos.shape == (TEXT_MAX_LEN, 16) and a.head.out_features == 6
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_a_few_training_steps(text_data):
    config = tiny_text()
    result = gu.train.train(config, progress=False)
    assert result.steps == [0, 3, 6]
    assert {"rnc1", "nc1", "test_rnc1", "margin_bound_test"} <= set(result.history)
    assert all(np.isfinite(result["train_loss"])) and result["train_loss"][-1] < result["train_loss"][0]
    assert result.env["tokenizer"] == "word" and result.env["vocab_size"] > 3


# ------------------------------------------------------------------- config
@pytest.mark.parametrize("changes, name, shown", [
    (dict(task="sst2", model="vit"), "model", "'vit'"),
    (dict(task="trec6", model="mlp"), "model", "'mlp'"),
    (dict(task="ag_news"), "model", "'transformer'"),
    (dict(task="mnist", model="text_transformer"), "model", "'text_transformer'"),
    (dict(task="add", model="text_transformer"), "model", "'text_transformer'"),
    (dict(task="sst2", model="text_transformer", num_layers=2), "num_layers", "2"),
    (dict(task="sst2", model="text_transformer", d_model=30, num_heads=4), "num_heads", "4"),
])
def test_config_validation(changes, name, shown):
    with pytest.raises(ValueError) as info:
        Config(**changes)
    message = str(info.value)
    assert f"Config.{name}" in message and shown in message
    if name == "model":
        assert "text" in message


def test_preset_is_the_part1_vit_setup_on_text():
    for task in ("sst2", "trec6", "ag_news"):
        config = gu.presets.collapse_text(task)
        assert config.is_text and not config.is_algorithmic
        assert (config.model, config.d_model, config.num_heads, config.d_mlp, config.num_layers) == \
            ("text_transformer", 128, 4, 512, 1)
        assert (config.weight_decay, config.num_train, config.init_scale) == (0.01, 1000, 8.0)
        assert config.num_steps == 100_000
        assert (config.loss, config.loss_reduction, config.batch_size, config.lr) == ("mse", "sum", 100, 1e-3)
        assert config.metrics == ("collapse", "population")
    assert gu.presets.collapse_text("sst2", init_scale=1.0).init_scale == 1.0
    assert gu.presets.collapse_text("sst2", "smoke").num_steps == 40
    with pytest.raises(ValueError, match="cifar10"):
        gu.presets.collapse_text("cifar10")
    assert any(d.item == "maximum sequence length" and "64" in d.here for d in gu.presets.TEXT_DEVIATIONS)
    text = {c for configs in gu.presets.paper_runs().values() for c in configs if c.is_text}
    assert not text  # the book does not store text runs


def test_glossary_names_the_text_tasks_and_model():
    assert all(task in gu.glossary.GLOSSARY["task"] for task in ("sst2", "trec6", "ag_news"))
    assert "text_transformer" in gu.glossary.GLOSSARY["model"]
    assert "sentences" in gu.glossary.GLOSSARY["num_train"]


def test_existing_keys_are_unchanged():
    """Text support adds no Config field: keys of stored results stay as they were."""
    from grokutils.runs import REPO_ROOT

    assert gu.presets.nanda("paper", loss_dtype="float32").key() == "b067d4aba3566786"
    stored = sorted((REPO_ROOT / "results").glob("*.json"))
    assert stored
    for path in stored:
        values = json.loads(path.read_text())
        assert Config.from_dict(values["config"]).key() == values["key"], path.name
