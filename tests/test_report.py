"""Verdict sentences and tables that notebooks print, on hand-made results."""

import re

import matplotlib

matplotlib.use("agg")

import pytest  # noqa: E402

import grokutils as gu  # noqa: E402
from grokutils.result import Result  # noqa: E402


def make_result(train_acc, test_acc, steps=None, threshold=0.95):
    steps = steps or [i * 100 for i in range(len(train_acc))]
    config = gu.presets.nanda("smoke", num_steps=steps[-1], grok_threshold=threshold)
    history = {"train_acc": train_acc, "test_acc": test_acc, "train_loss": [1.0] * len(steps),
               "test_loss": [1.0] * len(steps), "weight_norm": [1.0] * len(steps),
               "wall_time": [float(s) / 10 for s in steps]}
    return Result(config, steps, history, {"train_s": 1.0, "eval_s": 0.5, "ms_per_step": 2.0}, {"device": "cpu"})


def test_delayed_generalisation_is_grokking():
    check = gu.report.grokking_check(make_result([0.5, 1, 1, 1, 1], [0.0, 0.0, 0.1, 0.5, 0.97]))
    assert (check.t_fit, check.t_grok) == (100, 400)
    assert check.groks
    assert "grokking reproduced" in check.sentence() and "300 steps" in check.sentence()
    assert "40 s of training" in check.sentence()


def test_generalising_with_the_fit_is_not_grokking():
    check = gu.report.grokking_check(make_result([0.5, 1, 1], [0.5, 0.96, 0.97]))
    assert check.t_fit == check.t_grok == 100
    assert not check.groks
    assert "without a delay" in check.sentence()


def test_never_generalising_says_not_reproduced_with_the_numbers():
    check = gu.report.grokking_check(make_result([1, 1, 1], [0.1, 0.2, 0.3]))
    assert not check.groks
    assert "NOT reproduced" in check.sentence() and "0.300" in check.sentence()


def test_never_fitting_is_reported():
    check = gu.report.grokking_check(make_result([0.1, 0.2], [0.1, 0.2]))
    assert not check.groks and "never fitted" in check.sentence()


def test_tables_are_markdown_with_one_row_per_item():
    result = make_result([0.5, 1], [0.1, 0.2])
    table = gu.report.timings_table([result, result])
    assert table._repr_markdown_().count("\n") == 3
    config_table = gu.report.config_table(result.config, ["p", "lr"])
    assert "`23`" in config_table and "`0.001`" in config_table
    deviations = gu.report.deviations_table(gu.presets.NANDA_DEVIATIONS)
    assert deviations.count("\n") == len(gu.presets.NANDA_DEVIATIONS) + 1


def test_grokking_panel_draws_three_axes_with_transition_marks():
    figure = gu.plots.grokking_panel(make_result([0.5, 1, 1, 1, 1], [0.0, 0.0, 0.1, 0.5, 0.97]))
    assert len(figure.axes) == 3
    assert all(ax.get_xscale() == "log" for ax in figure.axes)
    assert len(figure.axes[0].lines) == 4  # train, test, t_fit, t_grok


def test_mean_band_rejects_runs_on_different_steps():
    with pytest.raises(ValueError, match="same steps"):
        gu.plots.mean_band([make_result([1, 1], [0, 0]), make_result([1, 1, 1], [0, 0, 0])], "test_acc")


def test_regenerate_lists_the_paper_runs(capsys):
    from grokutils import regenerate

    regenerate.main(["--list"])
    out = capsys.readouterr().out
    assert gu.presets.nanda("paper").key() in out and "stored" in out


def test_regenerate_rejects_an_unknown_chapter():
    from grokutils import regenerate

    with pytest.raises(SystemExit):
        regenerate.main(["--chapter", "no_such_chapter", "--list"])


def test_every_recorded_metric_key_is_in_the_glossary(tmp_path, monkeypatch):
    import torch

    from grokutils.metrics import autoencoder, information

    monkeypatch.setenv("GROKUTILS_CACHE", str(tmp_path))
    monkeypatch.setattr(information, "AUTOENCODER_SETTINGS", autoencoder.AutoencoderSettings(epochs=1))
    g = torch.Generator().manual_seed(0)
    y = torch.arange(300) % 10
    images = gu.data.Dataset(torch.randn(100, 1, 28, 28, generator=g), y[:100],
                             torch.randn(200, 1, 28, 28, generator=g), y[100:], num_classes=10)
    image_config = gu.presets.collapse_mnist("smoke").replace(
        widths=(16, 16), num_steps=2, eval_schedule="every:1",
        metrics=tuple(m for m in gu.metrics.REGISTRY if m != "fourier"))
    tokens_config = gu.presets.nanda("smoke").replace(num_steps=2, eval_schedule="every:1",
                                                     metrics=("fourier", "robustness", "spectral"))
    recorded = set(gu.train.train(image_config, images, progress=False).history)
    recorded |= set(gu.train.train(tokens_config, progress=False).history)
    recorded = {re.sub(r"_\d+$", "_l", name) for name in recorded}  # per-layer keys: imbalance_1 → imbalance_l
    recorded = {re.sub(r"^cost_\w+$", "cost_<indicator>", name) for name in recorded}  # Part V's cost_rnc1, ...
    missing = sorted(recorded - set(gu.glossary.GLOSSARY))
    assert not missing, f"recorded but not in grokutils.glossary: {missing}"


def test_markdown_table_escapes_pipes_inside_cells():
    table = gu.report.markdown_table(("name", "formula"), [("norm", "||w||² over |S|")])
    assert table.splitlines()[-1] == "| norm | \\|\\|w\\|\\|² over \\|S\\| |"
