"""The book's figure helpers (grokutils.plots)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

import grokutils as gu


def test_log_axes_carry_minor_ticks_at_2_and_5_only():
    fig, ax = plt.subplots()
    gu.plots.log_scale(ax, "y")
    ax.plot([1, 10_000], [1e-3, 1e3])
    fig.canvas.draw()
    minor = [t for t in ax.yaxis.get_minorticklocs() if 1e-3 <= t <= 1e3]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    np.testing.assert_allclose(sorted({round(t / 10 ** np.floor(np.log10(t)), 6) for t in minor}), [2.0, 5.0])
    with pytest.raises(ValueError, match="which='z'"):
        gu.plots.log_scale(ax, "z")
    plt.close(fig)
