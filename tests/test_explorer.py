"""The Part I explorer: its figures and its widget, on a tiny trained sweep."""

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

import grokutils as gu  # noqa: E402
from grokutils import explorer  # noqa: E402


@pytest.fixture(scope="module")
def groups():
    import torch

    g = torch.Generator().manual_seed(0)
    y = torch.arange(400) % 10
    x = torch.randn(400, 1, 28, 28, generator=g) + y[:, None, None, None] * 0.3
    data = gu.data.Dataset(x[:100], y[:100], x[100:], y[100:], num_classes=10)
    base = gu.presets.collapse_mnist("smoke").replace(widths=(16, 16), metrics=("collapse", "snapshots"))
    runs = [gu.train.train(base.replace(weight_decay=wd, seed=s), data, progress=False)
            for wd in (0.01, 0.1) for s in (42, 43)]
    return gu.part1.group_by_weight_decay(runs)


def test_explorer_figure_marks_a_stored_snapshot_and_refuses_others(groups):
    run = groups[0.01][0]
    step = sorted(run.snapshots())[-1]
    figure = explorer.explorer_figure(run, step)
    assert len(figure.axes) == 3 and f"step {step:,}" in figure._suptitle.get_text()
    with pytest.raises(ValueError, match="no stored snapshot"):
        explorer.explorer_figure(run, -1)


def test_static_grid_has_a_row_per_weight_decay(groups):
    assert len(explorer.static_grid(groups).axes) == 2 * 3


def test_widget_follows_its_controls(groups):
    panel = explorer.collapse_explorer(groups)
    decay, seed, step = panel.children[0].children
    assert list(seed.options) == [42, 43]
    decay.value = 0.1
    seed.value = 43
    step.value = step.options[0]
    assert step.options == tuple(sorted(groups[0.1][1].snapshots()))
