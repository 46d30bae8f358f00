"""The small convolutional autoencoder that compresses images X for the MI estimator (Part I).

Sato & Sakamoto (2025), Section 5 / Figure 4, estimate I(Z; X) with the compression
estimator of Butakov et al. (2024): X is first squeezed to a few dimensions by an
autoencoder trained once per dataset. The encoder follows the authors' code: three
3×3 stride-2 convolutions with 8, 16 and 32 channels and LeakyReLU, then one linear
layer to ``code_dim`` = 4 (for 28×28 inputs the flattened size is 32·2·2 = 128). The
decoder mirrors it. Training uses the L1 reconstruction loss.

:func:`load_or_train_encoder` caches the trained weights on disk under a key that hashes
the images themselves and every training setting, so a different dataset or setting can
never silently reuse another's encoder. Used by :mod:`grokutils.metrics.information`
and book Part I (Figure 4).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from grokutils.files import atomic_write

CHANNELS = (8, 16, 32)
CACHE_ROOT = Path(__file__).resolve().parents[2] / ".cache" / "grokutils" / "autoencoders"


@dataclass(frozen=True)
class AutoencoderSettings:
    """Everything that determines a trained encoder besides the images (part of its cache key).

    Defaults: 4-dimensional code (Part I, Figure 4a's compression of X), 30 epochs of Adam
    at lr 1e-3 in batches of 128, seed 0. The authors' epochs are not stated; 30 is chosen."""

    code_dim: int = 4
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        for name in ("code_dim", "epochs", "batch_size"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"AutoencoderSettings.{name} must be a positive integer, got {value!r}.")
        if not self.lr > 0:
            raise ValueError(f"AutoencoderSettings.lr must be positive, got {self.lr!r}.")


def _conv_sizes(size: int) -> list[int]:
    sizes = [size]
    for _ in CHANNELS:
        sizes.append((sizes[-1] - 3) // 2 + 1)
    if sizes[-1] < 1:
        raise ValueError(f"images of side {size} are too small for three 3×3 stride-2 convolutions (need ≥ 15).")
    return sizes


class ImageAutoencoder(nn.Module):
    """Conv encoder (8/16/32 channels, 3×3, stride 2, LeakyReLU, linear → code) and its mirror.

    The MI estimator's compressor of X (Part I, Figure 4; Butakov et al. 2024).
    ``encode`` maps ``(N, C, H, H)`` images to ``(N, code_dim)`` codes.
    """

    def __init__(self, in_channels: int, image_size: int, code_dim: int = 4):
        super().__init__()
        sizes = _conv_sizes(image_size)
        widths = (in_channels, *CHANNELS)
        encoder: list[nn.Module] = []
        for c_in, c_out in zip(widths, widths[1:]):
            encoder += [nn.Conv2d(c_in, c_out, 3, stride=2), nn.LeakyReLU()]
        flat = CHANNELS[-1] * sizes[-1] ** 2
        self.encoder = nn.Sequential(*encoder, nn.Flatten(), nn.Linear(flat, code_dim))
        decoder: list[nn.Module] = [nn.Linear(code_dim, flat), nn.LeakyReLU(),
                                    nn.Unflatten(1, (CHANNELS[-1], sizes[-1], sizes[-1]))]
        reversed_widths = widths[::-1]
        for i, (c_in, c_out) in enumerate(zip(reversed_widths, reversed_widths[1:])):
            size_in, size_out = sizes[-1 - i], sizes[-2 - i]
            padding = size_out - ((size_in - 1) * 2 + 3)
            decoder.append(nn.ConvTranspose2d(c_in, c_out, 3, stride=2, output_padding=padding))
            if i < len(CHANNELS) - 1:  # no activation on the reconstruction
                decoder.append(nn.LeakyReLU())
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))


def _check_images(images: torch.Tensor) -> None:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (N, C, H, H) tensor of square images; got {shape}.")
    if not bool(torch.isfinite(images).all()):
        raise ValueError("images contain NaN or infinite values.")


def cache_key(images: torch.Tensor, settings: AutoencoderSettings) -> str:
    """sha256 of the image bytes, their shape and the training settings (16 hex digits): the
    cache key of Part I's X compressor (Figure 4a)."""
    digest = hashlib.sha256()
    digest.update(images.detach().cpu().to(torch.float32).contiguous().numpy().tobytes())
    digest.update(json.dumps({"shape": list(images.shape), "channels": CHANNELS, **asdict(settings)},
                             sort_keys=True).encode())
    return digest.hexdigest()[:16]


def train_autoencoder(images: torch.Tensor, settings: AutoencoderSettings = AutoencoderSettings()
                      ) -> ImageAutoencoder:
    """Train an :class:`ImageAutoencoder` on ``images`` with Adam and the L1 loss (Butakov et al.
    2024, as used for Part I, Figure 4a)."""
    _check_images(images)
    generator = torch.Generator().manual_seed(settings.seed)
    torch.manual_seed(settings.seed)
    model = ImageAutoencoder(images.shape[1], images.shape[-1], settings.code_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
    x = images.detach().cpu().to(torch.float32)
    with torch.enable_grad():  # callers may sit inside torch.no_grad() (training callbacks do)
        _fit(model, optimizer, x, settings, generator)
    return model.eval()


def _fit(model, optimizer, x, settings, generator) -> None:
    for _ in range(settings.epochs):
        for batch in torch.randperm(len(x), generator=generator).split(settings.batch_size):
            loss = (model(x[batch]) - x[batch]).abs().mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()


_MEMORY: dict[str, ImageAutoencoder] = {}


def load_or_train_encoder(images: torch.Tensor, settings: AutoencoderSettings = AutoencoderSettings(),
                          cache_dir: str | Path | None = None) -> ImageAutoencoder:
    """The trained autoencoder for ``images`` (Part I, Figure 4a): from memory, the disk cache, or trained now.

    The cache file is ``<cache_dir>/ae-<key>.pt`` with the key of :func:`cache_key`;
    ``cache_dir`` defaults to ``$GROKUTILS_CACHE/autoencoders`` or ``.cache/grokutils/autoencoders``
    in the repository. Writes are atomic (temporary file, then rename).
    """
    _check_images(images)
    key = cache_key(images, settings)
    if key in _MEMORY:
        return _MEMORY[key]
    root = Path(cache_dir) if cache_dir is not None else (
        Path(os.environ["GROKUTILS_CACHE"]) / "autoencoders" if "GROKUTILS_CACHE" in os.environ else CACHE_ROOT)
    path = root / f"ae-{key}.pt"
    model = ImageAutoencoder(images.shape[1], images.shape[-1], settings.code_dim)
    if path.exists():
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        model.eval()
    else:
        model = train_autoencoder(images, settings)
        atomic_write(path, lambda handle: torch.save(model.state_dict(), handle))
    _MEMORY[key] = model
    return model
