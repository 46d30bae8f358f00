"""CIFAR-10 for Part IV's ResNet runs (Han et al. 2025, Sections 5-6 and Appendices B-C), with a clear failure.

:func:`cifar10` loads CIFAR-10 through torchvision exactly as ``Config(task="cifar10")`` does
(:func:`grokutils.data.torchvision_images`), after checking, before any work, that torchvision and the data are
there; otherwise it raises a :class:`RuntimeError` that says where to put the data and how to download it
(:func:`cifar10_missing`). Nothing is downloaded unless ``download=True``.
"""

from __future__ import annotations

from pathlib import Path

from grokutils import data as data_module

#: The folder torchvision's ``CIFAR10`` reads under the data folder.
CIFAR_FOLDER = "cifar-10-batches-py"


def cifar10_missing(data_dir: str | Path | None = None, download: bool = False) -> str | None:
    """Why CIFAR-10 cannot be loaded here (torchvision missing, or its folder not under the data folder and no
    download asked for), in words that say what to do; None when it can."""
    root = Path(data_dir) if data_dir is not None else data_module.default_data_dir()
    ok, why = data_module.availability("cifar10", root)
    if ok or (download and "torchvision" not in why):
        return None
    if "torchvision" in why:
        return ("task='cifar10' needs torchvision, which is not installed here. Install the release built for this "
                "torch: `pip install torchvision==0.28.0` (the `vision` extra: pip install -e '.[vision]').")
    return (f"CIFAR-10 is not under {root}: torchvision's CIFAR10 reads the folder {root / CIFAR_FOLDER}. "
            f"Put the extracted dataset there (the folder {CIFAR_FOLDER} of cifar-10-python.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html), or set GROKUTILS_DATA to the folder that holds it, or "
            "download it on a machine with internet: grokutils.cifar.cifar10(download=True) (or "
            f"torchvision.datasets.CIFAR10({str(root)!r}, download=True)).")


def cifar10(num_train: int = 50_000, data_dir: str | Path | None = None, download: bool = False
            ) -> data_module.Dataset:
    """CIFAR-10 as ``Config(task="cifar10", num_train=num_train)`` loads it: the first ``num_train`` training
    images, the 10,000 test images, normalised per channel (:func:`grokutils.data.torchvision_images`).

    Checks first that torchvision and the data are there (:func:`cifar10_missing`) and raises a
    :class:`RuntimeError` saying where to put the data or how to download it otherwise, before reading
    anything. The paper (Appendix B) normalises with mean and std 0.5 instead of the dataset's own: the same
    images up to a per-channel affine map, which the first convolution and batch norm absorb."""
    why = cifar10_missing(data_dir, download)
    if why is not None:
        raise RuntimeError(why)
    return data_module.torchvision_images("cifar10", num_train, data_dir, download)
