"""Residual networks for 32 × 32 images and Part IV's CIFAR-10 code paths.

- :class:`ResNet18` — Part I's CIFAR-10 information-bottleneck run (Appendix) and Part IV, Section 5 (Han et al.
  2025: ResNet-18 with the NCC regulariser, ``Config(model="resnet18", task="cifar10", ncc_weight=1e-3)``).
- :class:`ResNet10` — Part IV, Section 6 (ResNet-10 with the flatness regulariser, ``model="resnet10"``).

Both are :class:`CifarResNet`\\ s (He et al. 2016, the CIFAR variant of the paper's augmentation ablation,
Appendix B: a 3×3 stem without max-pool, 64-128-256-512 channels), with ``features`` the globally pooled
penultimate representation (512-dimensional) and ``head`` the linear classifier that Part IV's regularisers
(:mod:`grokutils.regularisers`) and measures read. The paper's main NCC runs use torchvision's ResNet-18 as it
is, with the ImageNet stem (7×7 convolution, stride 2, and a max-pool): ``stem='imagenet'`` builds that stem
(not reachable from a :class:`~grokutils.config.Config`, whose ResNets are the CIFAR variant).
:mod:`grokutils.cifar` loads CIFAR-10 for them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Residual blocks per stage of each ResNet (two 3×3 convolutions each).
BLOCKS = {"resnet18": (2, 2, 2, 2), "resnet10": (1, 1, 1, 1)}
CHANNELS = (64, 128, 256, 512)
STEMS = ("cifar", "imagenet")


class BasicBlock(nn.Module):
    """Two 3×3 convolutions with batch norm and a (projected) identity shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class CifarResNet(nn.Module):
    """A ResNet of :class:`BasicBlock`\\ s: a stem, four stages (64-128-256-512 channels, the first at stride 1,
    the others at stride 2) of ``blocks[i]`` blocks each, global average pooling and a linear ``head``;
    PyTorch's standard initialisation. ``stem='cifar'``: one 3×3 convolution at stride 1 (for 32 × 32 images);
    ``'imagenet'``: torchvision's 7×7 convolution at stride 2 and a 3×3 max-pool at stride 2.
    ``features`` is the 512-dimensional pooled representation, ``forward(x) = head(features(x))``."""

    def __init__(self, in_channels: int, num_classes: int, blocks: tuple[int, ...] = BLOCKS["resnet18"],
                 stem: str = "cifar"):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"CifarResNet: stem={stem!r} is not allowed; expected one of {STEMS}.")
        if len(blocks) != len(CHANNELS) or not all(isinstance(b, int) and b >= 1 for b in blocks):
            raise ValueError(f"CifarResNet: blocks={blocks!r} is not allowed; expected {len(CHANNELS)} positive "
                             "integers (blocks per stage), e.g. (2, 2, 2, 2) for ResNet-18.")
        if stem == "cifar":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                      nn.MaxPool2d(3, 2, 1))
        stages, c_in = [], 64
        for c_out, stride, count in zip(CHANNELS, (1, 2, 2, 2), blocks):
            stages += [BasicBlock(c_in, c_out, stride)] + [BasicBlock(c_out, c_out, 1) for _ in range(count - 1)]
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(CHANNELS[-1], num_classes)

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        return self.stem(x).flatten(1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class ResNet18(CifarResNet):
    """ResNet-18 for 32 × 32 images (3×3 stem, no max-pool; two blocks per stage, 11.2 M parameters): Part I's
    CIFAR-10 information-bottleneck experiment (Appendix) and Part IV's NCC regulariser (Section 5)."""

    def __init__(self, in_channels: int, num_classes: int, stem: str = "cifar"):
        super().__init__(in_channels, num_classes, BLOCKS["resnet18"], stem)


class ResNet10(CifarResNet):
    """ResNet-10 for 32 × 32 images (one block per stage, 4.9 M parameters): Part IV's flatness regulariser
    (Section 6, Appendix C)."""

    def __init__(self, in_channels: int, num_classes: int, stem: str = "cifar"):
        super().__init__(in_channels, num_classes, BLOCKS["resnet10"], stem)


RESNETS = {"resnet18": ResNet18, "resnet10": ResNet10}
