"""The named setups: every profile validates, and the Part III arms fit together as designed."""

import re

import pytest

import grokutils as gu
from grokutils import presets

PROFILES = ("smoke", "quick", "paper")


@pytest.mark.parametrize("profile", PROFILES)
def test_every_part3_setup_builds_in_every_profile(profile):
    main = presets.spectral_main(profile)
    assert len({c.seed for c in main}) == len(main)
    assert all(c.grok_threshold == 0.95 and "norm_trace" in c.metrics for c in main)
    for arm in presets.spectral_intervention(profile).values():
        assert [c.seed for c in arm] == [c.seed for c in main]
    tasks = presets.spectral_tasks(profile)
    assert set(tasks) == {"sub", "mul", "s5"}
    assert presets.spectral_mlp(profile)[0].model == "mlp"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_stronger_mixing_differs_from_the_mixing_arm_in_alpha_only(profile):
    strong = presets.spectral_mixing_strong(profile)
    mixing = presets.spectral_intervention(profile)["mixing"]
    assert strong and all(c.mixing_alpha == presets.MIXING_ALPHA_STRONG > presets.MIXING_ALPHA for c in strong)
    assert [c.replace(mixing_alpha=presets.MIXING_ALPHA) for c in strong] == mixing[:len(strong)]


@pytest.mark.parametrize("profile", PROFILES)
def test_the_larger_s5_split_differs_from_s5_in_its_split_and_length_only(profile):
    larger = presets.spectral_s5_larger_split(profile)
    s5 = presets.spectral_tasks(profile)["s5"]
    assert larger and all(c.frac_train == presets.S5_LARGER_FRAC > c0.frac_train for c, c0 in zip(larger, s5))
    shrunk = [c.replace(frac_train=c0.frac_train, num_steps=c0.num_steps) for c, c0 in zip(larger, s5)]
    assert shrunk == s5[:len(larger)]


@pytest.mark.parametrize("profile", PROFILES)
def test_norm_matched_controls_follow_the_main_runs_themselves(profile):
    """A control's baseline must be exactly a main run (same key), or make results would train
    every baseline twice."""
    main_keys = {c.key() for c in presets.spectral_main(profile)}
    controls = presets.spectral_intervention(profile)["norm-matched"]
    assert {c.baseline().key() for c in controls} == main_keys
    assert all(c.stop_after_grok is None for c in controls)


def test_part3_paper_setup_is_the_specs():
    config = presets.SPECTRAL_PAPER
    assert (config.task, config.p, config.model, config.d_model, config.num_heads, config.d_mlp) == \
        ("add", 97, "transformer", 128, 4, 512)
    assert (config.optimizer, config.lr, config.weight_decay, config.batch_size) == ("adamw", 1e-3, 1.0, 512)
    assert config.eval_schedule == "every:200"
    counts = {task: len(runs) for task, runs in presets.spectral_tasks("paper").items()}
    assert counts == {"sub": 5, "mul": 5, "s5": 10} and len(presets.spectral_main("paper")) == 10


def test_paper_runs_hold_every_part3_configuration_once():
    runs = gu.presets.paper_runs()
    part3 = [c for chapter, configs in runs.items() if chapter.startswith("p3_") for c in configs]
    fractions = len(presets.S5_FRACTIONS) * presets.S5_FRACTION_SEEDS
    doses = (len(presets.MIXING_DOSES) - 2) * 10  # α = 0.1 and 0.3 are the two arms' runs
    calibration = (len(presets.CALIBRATION_FRACTIONS) * len(presets.CALIBRATION_BETA2) * len(presets.CALIBRATION_INITS)
                   - 1) * presets.CALIBRATION_SEEDS  # one cell is the main runs'
    assert len(part3) == len(set(part3)) == (10 + 20 + presets.MIXING_STRONG_SEEDS + 1 + 20 + presets.S5_LARGER_SEEDS
                                             + fractions + doses + calibration)


def test_appendix_architectures_deviations_name_the_shorter_run():
    assert any(d.item == "training length" and f"{presets.ARCHITECTURE_STEPS:,}" in d.here
               for d in presets.ARCHITECTURE_DEVIATIONS)
    assert all(c.num_steps == presets.ARCHITECTURE_STEPS for c in presets.collapse_architectures("paper").values())


# --------------------------------------------------------------- every preset, every key
#: sha256 of the sorted store keys of presets.paper_runs() (since: the S5 fractions, the float64 Nanda run, the mixing
#: doses, the calibration, Theorem 4.3 at λ 3e-5..3e-4, the ViT at 500 and 2,000 images, Figure 7's CNN, Part II and
#: Part IV's runs, its seeds 0 and 2, its modular arms and the exploratory re-runs of Section 5 with RNC1 and wᵀHw,
#: Part V's grid); the committed results/ are stored under
#: these keys, so no change to Config may move one of them.
PAPER_KEYS_DIGEST = "00a9c752740a3a4df962f917bb4cae7b9efd71cd1fda60fc044e67ecc80e4ec9"


def test_the_keys_of_every_paper_run_are_those_of_the_stored_files():
    import hashlib

    from grokutils.group_training import not_needed
    from grokutils.runs import REPO_ROOT

    configs = [c for configs in presets.paper_runs().values() for c in configs]
    in_book = set(re.findall(r"file:\s*notebooks/(\S+)", (REPO_ROOT / "_toc.yml").read_text()))
    in_progress = {c for chapter, chapter_configs in presets.paper_runs().items() if chapter not in in_book
                   for c in chapter_configs}  # chapters whose runs are still training (notebooks/in_progress.txt)
    stored = {path.name for path in (REPO_ROOT / "results").glob("*.json")}
    unneeded = not_needed(presets.paper_runs(), gu.store_for("paper"))  # alternatives after the one chosen
    missing = [f"{c.label()}-{c.key()}.json" for c in configs
               if f"{c.label()}-{c.key()}.json" not in stored and c not in in_progress | unneeded]
    assert not missing, f"these paper runs no longer have the key of a stored file: {missing[:5]}"
    digest = hashlib.sha256(" ".join(sorted(c.key() for c in configs)).encode()).hexdigest()
    assert digest == PAPER_KEYS_DIGEST, "a paper run's key changed (or a run was added: then update the digest)"


def preset_calls(profile: str):
    """Every preset function of every profile, by name (``collapse_text`` for each text task)."""
    import inspect

    for name, function in vars(presets).items():
        if not inspect.isfunction(function) or not function.__module__.startswith(presets.__name__):
            continue
        parameters = inspect.signature(function).parameters
        if "profile" not in parameters:
            continue
        if "task" in parameters:
            for task in gu.config.TEXT_TASKS:
                yield f"{name}({task!r})", lambda f=function, t=task: f(t, profile)
        else:
            yield name, lambda f=function: f(profile)


def _configs_in(made):
    """Every Config in a preset's return value (a Config, or lists and dicts of them, nested)."""
    if isinstance(made, dict):
        made = list(made.values())
    if isinstance(made, (list, tuple)) and not isinstance(made, gu.Config):
        for item in made:
            yield from _configs_in(item)
    else:
        yield made


@pytest.mark.parametrize("profile", PROFILES)
def test_every_preset_of_every_profile_constructs(profile):
    calls = dict(preset_calls(profile))
    assert {"nanda", "omnigrok_mnist", "collapse_sweep", "spectral_main", "collapse_text('sst2')"} <= set(calls)
    for name, call in calls.items():
        made = call()
        if name == "chapter_probes":  # {chapter: [(config, steps)]}: the configurations and their probe steps
            made = {chapter: [config for config, _ in probed] for chapter, probed in made.items()}
        flat = list(_configs_in(made))
        assert flat and all(isinstance(c, gu.Config) for c in flat), name
        assert len(set(flat)) == len(flat), name
    for page in gu.pages.PAGES.values():  # what every page reads or trains, Part III's own runs included
        for configs in (*page.reads(profile).values(), *page.records(profile).values()):
            assert all(isinstance(c, gu.Config) for c in configs)
