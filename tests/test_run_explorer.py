"""The explorer of Parts II–V (grokutils.run_explorer): each part's widget and static figure on synthetic runs
that record that part's metrics, the widget redrawing when its controls change, and the errors on bad input."""

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from grokutils import presets  # noqa: E402
from grokutils import run_explorer as rx  # noqa: E402
from grokutils.result import Result  # noqa: E402


def _config(part: str):
    """A configuration of the part's own runs (smoke), for labels and the grokking threshold."""
    return {"II": lambda: presets.robustness_runs("smoke")["add"]["standard"][0],
            "III": lambda: presets.spectral_main("smoke")[0],
            "IV": lambda: presets.ncc_regulariser_runs("smoke")["baseline"][0],
            "V": lambda: presets.signal_grid("smoke")["add"]["grokking"][0]}[part]()


def _run(config, seed: int, metrics, groks: bool = True, steps: int = 40, skip: tuple[str, ...] = ()) -> Result:
    """A run that fits at step ≈ 100 and (``groks``) reaches the test threshold at ≈ 1,000 + 100 · seed."""
    step = np.unique(np.round(np.geomspace(1, 5_000, steps)).astype(int))
    step = np.concatenate([[0], step]).tolist()
    t = np.log10(np.maximum(step, 1))
    fit = 1 / (1 + np.exp(-8 * (t - 2)))
    grok = 1 / (1 + np.exp(-8 * (t - np.log10(1_000 + 100 * seed)))) if groks else 0 * t
    history = {"train_acc": fit.tolist(), "test_acc": (0.05 + 0.95 * grok).tolist(),
               "train_loss": (1 - fit).tolist(), "test_loss": (1 - grok).tolist()}
    for i, metric in enumerate(m for m in metrics if m not in skip):
        history[metric] = (1 + i + np.cos(t + seed) + 2 * (1 - grok)).tolist()
    return Result(config.replace(seed=seed), step, history)


def _arms(part: str) -> dict[str, list[Result]]:
    config, metrics = _config(part), rx.PART_METRICS[part]
    return {"baseline": [_run(config, s, metrics) for s in (0, 1, 2)],
            # a shorter run (an early stop after grokking) and an arm without the last metric
            "other arm": [_run(config, 0, metrics, steps=30, skip=metrics[-1:]),
                          _run(config, 1, metrics, skip=metrics[-1:])],
            "control": [_run(config, 0, metrics, groks=False)]}


def _png(panel) -> bytes:
    (shown,) = panel.children[1].outputs  # one figure alone
    return base64.b64decode(shown["data"]["image/png"])


@pytest.mark.parametrize("part", list(rx.PART_METRICS))
def test_each_parts_explorer_builds_its_widget_and_redraws(part):
    import ipywidgets as widgets

    open_before = plt.get_fignums()  # other tests in the same process may leave figures open
    arms, metrics = _arms(part), rx.PART_METRICS[part]
    panel = rx.run_explorer(arms, metrics)
    assert isinstance(panel, widgets.VBox) and isinstance(panel.children[1], widgets.Output)
    first = _png(panel)
    assert first.startswith(b"\x89PNG")
    arm, chosen = panel.children[0].children[0].children[0], panel.children[0].children[1]
    chosen.value = tuple(metrics[:2])
    second = _png(panel)
    arm.value = "control"
    assert len({first, second, _png(panel)}) == 3 and plt.get_fignums() == open_before  # redrawn, figures closed


def test_the_controls_follow_the_arm_and_each_change_redraws_once(monkeypatch):
    drawn = []
    monkeypatch.setattr(rx, "show", lambda output, figure: plt.close(figure))
    monkeypatch.setattr(rx, "run_figure", lambda *args, draw=rx.run_figure: drawn.append(args[1:]) or draw(*args))
    arms, metrics = _arms("IV"), rx.PART_METRICS["IV"]
    panel = rx.run_explorer(arms, metrics)
    (arm, seed, log), chosen = panel.children[0].children[0].children, panel.children[0].children[1]
    assert list(arm.options) == list(arms) and seed.value == rx.ALL_SEEDS
    assert [value for _, value in chosen.options] == list(metrics) and chosen.value == metrics[:1]
    chosen.value = tuple(metrics[:3])
    seed.value = 1
    log.value = True
    arm.value = "other arm"  # does not record the last metric: not offered
    assert [value for _, value in chosen.options] == list(metrics[:-1]) and chosen.value == tuple(metrics[:3])
    assert seed.value == rx.ALL_SEEDS and len(seed.options) == 3
    seed.value = 0
    arm.value = "control"
    assert drawn == [("baseline", rx.ALL_SEEDS, list(metrics[:1]), False),
                     ("baseline", rx.ALL_SEEDS, list(metrics[:3]), False), ("baseline", 1, list(metrics[:3]), False),
                     ("baseline", 1, list(metrics[:3]), True), ("other arm", rx.ALL_SEEDS, list(metrics[:3]), True),
                     ("other arm", 0, list(metrics[:3]), True), ("control", rx.ALL_SEEDS, list(metrics[:3]), True)]


@pytest.mark.parametrize("part", list(rx.PART_METRICS))
def test_each_parts_static_figure_has_a_panel_per_metric(part):
    arms, metrics = _arms(part), rx.PART_METRICS[part]
    figure = rx.static_panels(arms, metrics, columns=4)
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [rx.label(m) for m in ("test_acc", *metrics)]
    # every arm in the panels of the metrics it records; the last metric's panel lacks "other arm"
    assert len(visible[1].get_lines()) == 3 + 2  # three medians, the t_grok of the two arms that grok
    assert len(visible[-1].get_lines()) == 2 + 1
    # one step axis for every panel, labelled (with its ticks) under the lowest panel of each column only
    assert all(visible[0].get_shared_x_axes().joined(visible[0], ax) for ax in visible)
    labelled = [i for i, ax in enumerate(visible) if ax.get_xlabel()]
    assert labelled == [i for i in range(len(visible)) if i + 4 >= len(visible)]
    assert all(visible[i].xaxis.get_tick_params()["labelbottom"] for i in labelled)
    plt.close(figure)


def test_run_figure_marks_t_fit_and_t_grok_and_draws_every_seed():
    arms = _arms("III")
    one = rx.run_figure(arms, "baseline", 1, ["spectral_entropy"])
    texts = [t.get_text() for t in one.axes[0].texts]
    assert texts == ["$t_{fit}$", "$t_{grok}$"] and "seed 1" in one._suptitle.get_text()
    every = rx.run_figure(arms, "baseline", rx.ALL_SEEDS, ["spectral_entropy", "weight_norm", "effective_rank"])
    panels = [ax for ax in every.axes if ax.get_visible() and ax.get_ylabel() != "accuracy"]
    assert len(panels) == 3 and len(panels[0].get_lines()) == 3 + 1 + 2  # seeds, median, two marks
    assert [t.get_text() for t in panels[0].texts] == ["$t_{fit}$ (3/3)", "$t_{grok}$ (3/3)"]
    control = rx.run_figure(arms, "control", 0, ["weight_norm"])
    assert [t.get_text() for t in control.axes[0].texts] == ["$t_{fit}$"]  # it never groks
    plt.close("all")


def test_a_run_that_stopped_after_grokking_holds_its_last_value_in_the_median():
    config = presets.spectral_main("smoke")[0].replace(num_steps=5_000, stop_after_grok=0)

    def run(seed, last, value):  # groks at its last step
        steps = list(range(0, last + 1, 100))
        return Result(config.replace(seed=seed), steps, {
            "train_acc": [1.0] * len(steps), "test_acc": [0.0] * (len(steps) - 1) + [1.0],
            "weight_norm": [value] * len(steps)})

    early, late = run(0, 1_000, 0.0), run(1, 5_000, 10.0)
    assert early.ended_early and not late.ended_early
    figure = rx.static_panels({"arm": [early, late]}, ["weight_norm"], accuracy=False)
    median = figure.axes[0].get_lines()[0]
    assert median.get_ydata()[list(median.get_xdata()).index(3_000)] == 5.0  # not 10: the early run holds 0
    every = rx.run_figure({"arm": [early, late]}, "arm", rx.ALL_SEEDS, ["weight_norm"])
    thin, _, median = every.axes[0].get_lines()[:3]
    assert np.isnan(thin.get_ydata()[-1]) and median.get_ydata()[-1] == 5.0  # each seed drawn as it ran
    plt.close("all")


def test_flatten_names_task_and_arm():
    config = _config("II")
    nested = {"add": {"standard": [_run(config, 0, ())], "abelian": [_run(config, 0, ())]}}
    assert list(rx.flatten(nested, {"add": "a + b"}, {"abelian": "abelian regulariser"})) == [
        "a + b: standard", "a + b: abelian regulariser"]


def test_bad_input_is_refused_with_what_exists():
    arms = _arms("IV")
    with pytest.raises(ValueError, match="arms is empty"):
        rx.run_explorer({}, ["ncc"])
    with pytest.raises(ValueError, match="must be a dict"):
        rx.static_panels([arms["baseline"]], ["ncc"])
    with pytest.raises(ValueError, match="arm 'empty' has no runs"):
        rx.static_panels({**arms, "empty": []}, ["ncc"])
    with pytest.raises(ValueError, match="list of Result"):
        rx.static_panels({"baseline": arms["baseline"][0]}, ["ncc"])
    with pytest.raises(ValueError, match=r"\['kappa'\] recorded by no run.*relative_flatness"):
        rx.run_explorer(arms, ["ncc", "kappa"])
    with pytest.raises(ValueError, match="non-empty list of metric names"):
        rx.static_panels(arms, [])
    with pytest.raises(ValueError, match="non-empty list of metric names"):
        rx.run_figure(arms, "baseline", 0, "ncc")
    with pytest.raises(ValueError, match="not one of the arms"):
        rx.run_figure(arms, "nope", 0, ["ncc"])
    with pytest.raises(ValueError, match="0 to 2"):
        rx.run_figure(arms, "baseline", 3, ["ncc"])
    with pytest.raises(ValueError, match="columns"):
        rx.static_panels(arms, ["ncc"], columns=0)
