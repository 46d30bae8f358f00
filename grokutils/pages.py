"""What every notebook page does first and last, from one source: the check of its papermill
parameters, its profile and store, the "Profile and runtime" paragraph, the line naming what it read,
and the runtime it printed.

Every notebook has a ``parameters`` cell (``profile``, ``progress``) and then the setup line
``page = gu.pages.start("<name>", profile, progress=progress, namespace=globals())``: papermill injects
its parameters between the two, so :func:`start` sees them and refuses unknown names and wrong types
(:func:`check_parameters`) before any work.
Before the parameters cell, right after the title, a hidden cell sets up a bare runtime such as Colab
(``grokutils.colab``; ``tools/add_colab_cell.py`` writes it into every page).

The paragraph is computed from the configurations the page reads under each profile
(:data:`PAGES`), so a page cannot drift from its data: change a preset and every page that reads
it says so. Only the runtimes measured on the development VM are typed, once, here.
"""

from __future__ import annotations

import ast
import json
import math
import time
import types
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grokutils import plots, presets
from grokutils.config import Config
from grokutils.group_training import needed_configs
from grokutils.profiles import PROFILES, check_profile
from grokutils.report import Markdown
from grokutils.runs import REPO_ROOT, ResultStore, store_for

Groups = Callable[[str], dict[str, list[Config]]]


def _none(profile: str) -> dict[str, list[Config]]:
    return {}


def _groups(**named: Callable[[str], list[Config]]) -> Groups:
    """Named groups of runs, each a function of the profile (a preset)."""
    return lambda profile: {name.replace("_", " "): configs(profile) for name, configs in named.items()}


def _arm(name: str) -> Callable[[str], list[Config]]:
    return lambda profile: presets.spectral_intervention(profile)[name]


def _s5_fractions(profile: str) -> list[Config]:
    return [c for configs in presets.spectral_s5_fractions(profile).values() for c in configs]


def _calibration(profile: str) -> list[Config]:
    return [c for configs in presets.spectral_calibration(profile).values() for c in configs]


def _doses(profile: str) -> list[Config]:
    return [c for alpha, configs in presets.spectral_mixing_doses(profile).items()
            if alpha not in (presets.MIXING_ALPHA, presets.MIXING_ALPHA_STRONG) for c in configs]


def _task(name: str) -> Callable[[str], list[Config]]:
    return lambda profile: presets.spectral_tasks(profile)[name]


@dataclass(frozen=True)
class PageRuns:
    """The runs of one page: ``reads(profile)`` the named groups of stored (or cached) runs it
    loads, ``records(profile)`` the run it trains in its own plain loop (live in ``quick`` and ``smoke``; in
    ``paper`` the book reads the loop's stored recording, :mod:`grokutils.loop_records`), and ``measured``, its
    runtimes measured on the development VM."""

    reads: Groups = _none
    records: Groups = _none
    measured: str = ""

    def trains_live(self, profile: str) -> bool:
        """Whether the page trains a run as it executes under ``profile``."""
        return profile != "paper" and any(self.records(profile).values())


_SHARED_CORES = "one thread, two training processes sharing its 2 cores"
_SWEEP = {"the_weight-decay_sweep": presets.collapse_sweep}
_P1_SWEEP = PageRuns(_groups(**_SWEEP), measured=(
    f"quick: 622 s on the development VM ({_SHARED_CORES}; expect less on an idle laptop), once: every other "
    "Part I page then reads the cached sweep in seconds."))
_MAIN = {"x_+_y_mod_97": presets.spectral_main}
_ARMS = {"mixing": _arm("mixing"), "the_norm-matched_control": _arm("norm-matched"),
         "the_stronger_mixing": presets.spectral_mixing_strong}
_TASKS = {"x_−_y": _task("sub"), "x_·_y": _task("mul"), "S5": _task("s5")}

def _needed_candidates(profile: str) -> list[Config]:
    """Figure 1's candidate settings up to the one its rule chooses from the stored runs (those after it are
    not trained: :func:`grokutils.group_training.needed_configs`)."""
    configs = [config for group in presets.flatness_candidates(profile).values() for config in group]
    return needed_configs(presets.FLATNESS_CANDIDATES_CHAPTER, configs, store_for(profile))


def _p4_mnist(profile: str) -> list[Config]:
    """Part IV's Sections 5 and 6 on MNIST: every arm."""
    return [c for arms in (presets.ncc_regulariser_runs(profile), presets.flatness_regulariser_runs(profile))
            for configs in arms.values() for c in configs]


def _p4_modular(profile: str) -> list[Config]:
    """Part IV's Sections 5 and 6 on x + y mod 97: every arm (Section 6's baseline is Section 5's)."""
    return ([c for configs in presets.modular_ncc_runs(profile).values() for c in configs]
            + presets.modular_flatness_runs(profile)["regularised"])


def _robustness(arm: str, task: str) -> Callable[[str], list[Config]]:
    return lambda profile: presets.robustness_runs(profile)[task][arm]


def _robustness_controls(task: str) -> Callable[[str], list[Config]]:
    return lambda profile: presets.robustness_controls(profile)[task]


_P2_STANDARD = {"MNIST": _robustness("standard", "mnist"), "a_+_b": _robustness("standard", "add"),
                "the_wd_=_0_controls_on_MNIST": _robustness_controls("mnist"),
                "the_wd_=_0_controls_on_a_+_b": _robustness_controls("add")}
#: The Part II figure pages read the quick runs that the chapter page trains (its runtime says how long).
_LOADED = ("the development VM while two training processes shared its 2 cores: expect less on an idle "
           "laptop")
#: Where the pages measured on 2026-12-02 ran.
_QUIET = "the 2-core development VM with nothing else running"
_P2_CACHED = "quick: {seconds} s on the development VM once the chapter page had cached Part II's quick runs."
_P2_ARMS = {"MNIST_standard": _robustness("standard", "mnist"), "MNIST_perturbed": _robustness("perturbed", "mnist"),
            "a_+_b_standard": _robustness("standard", "add"), "a_+_b_perturbed": _robustness("perturbed", "add"),
            "a_+_b_with_the_abelian_regulariser": _robustness("abelian", "add")}


def _grid_runs(profile: str) -> list[Config]:
    """Part V's whole grid: every task's grokking runs and controls."""
    return [c for arms in presets.signal_grid(profile).values() for configs in arms.values() for c in configs]


def _grid_task(task: str) -> Callable[[str], list[Config]]:
    """Part V's grid runs of one task (its grokking runs and controls; none where the profile leaves it out)."""
    return lambda profile: [c for configs in presets.signal_grid(profile).get(task, {}).values() for c in configs]


#: Every notebook page (by file name) and its runs.
PAGES: dict[str, PageRuns] = {
    "00_quickstart": PageRuns(_groups(Nanda=lambda p: [presets.nanda(p), presets.nanda(p, loss_dtype="float32")],
                                      Omnigrok=lambda p: [presets.omnigrok_mnist(p)]),
                              measured="quick: 111 s on the development VM with nothing cached."),
    "p1_00_chapter": PageRuns(_groups(**_SWEEP, **{
        "Theorem_4.1's_training-set_sizes": presets.concentration_sweep,
        "Theorem_4.3's_own_setting": presets.collapse_theory,
        "the_appendix_networks": lambda p: list(presets.collapse_architectures(p).values()),
        "Figure_8's_ViT_runs": presets.collapse_vit_sweep}), measured=(
        "quick: about 11 minutes on the development VM with nothing cached (the quick runtimes of the Theorem 4.3, "
        f"Theorem 4.1 and appendix pages, 253 + 107 + 309 s, {_SHARED_CORES}).")),
    "p1_explorer": _P1_SWEEP,
    "p1_fig2_representations": _P1_SWEEP,
    "p1_fig3_weight_decay": _P1_SWEEP,
    "p1_fig4_information": _P1_SWEEP,
    "p1_thm32_bound": _P1_SWEEP,
    "p1_thm34_ib_bounds": _P1_SWEEP,
    "p1_thm41_concentration": PageRuns(_groups(**{"the_training-set_sizes": presets.concentration_sweep}),
                                       measured=f"quick: 107 s on the development VM ({_SHARED_CORES})."),
    "p1_thm43_time_scales": PageRuns(_groups(**_SWEEP, **{"Theorem_4.3's_own_setting": presets.collapse_theory}),
                                     measured=f"quick: 253 s on the development VM with the sweep not yet cached "
                                              f"({_SHARED_CORES})."),
    "p1_appendix_architectures": PageRuns(
        _groups(**{"the_CNN_and_the_ViT": lambda p: list(presets.collapse_architectures(p).values()),
                   "Figure_8's_ViT_runs": presets.collapse_vit_sweep,
                   "Figure_7's_CNN_run": lambda p: [presets.collapse_cnn_snapshots(p)]}),
        measured=f"quick: 309 s on the development VM ({_SHARED_CORES})."),
    "p2_00_chapter": PageRuns(_groups(**_P2_ARMS, **{k: v for k, v in _P2_STANDARD.items() if "controls" in k}),
                              measured=(
        "quick: 2,503 s on the development VM with nothing cached, while up to three other processes shared its 2 "
        "cores (the last two runs, the wd-0 controls, trained alone in 42 and 47 s; the five before them took "
        "202–917 s each); it trains every Part II quick run, which the figure pages then read.")),
    "p2_explorer": PageRuns(_groups(**_P2_ARMS, **{k: v for k, v in _P2_STANDARD.items() if "controls" in k}),
                            measured=_P2_CACHED.format(seconds=8)),
    "p2_fig1_2_robustness": PageRuns(_groups(**_P2_STANDARD), measured=_P2_CACHED.format(seconds=6)),
    "p2_fig3_distance_bound": PageRuns(_groups(the_standard_MNIST_runs=_robustness("standard", "mnist")),
                                       measured=_P2_CACHED.format(seconds=6)),
    "p2_fig4_7_degrokking": PageRuns(_groups(**_P2_ARMS), measured=_P2_CACHED.format(seconds=8)),
    "p2_fig8_13_information": PageRuns(_groups(**_P2_STANDARD), measured=_P2_CACHED.format(seconds=9)),
    "p2_theory": PageRuns(_groups(MNIST=_robustness("standard", "mnist"), **{"a_+_b": _robustness("standard", "add")}),
                          measured=_P2_CACHED.format(seconds=6)),
    "p4_00_chapter": PageRuns(_groups(**{
        "Figure_1's_candidate_settings": _needed_candidates,
        "the_Section_5_and_6_runs_on_MNIST": _p4_mnist, "the_Section_5_and_6_runs_on_x_+_y_mod_97": _p4_modular}),
        measured=f"quick: 8 s on {_LOADED}, once the Figure 1 and Section 5 and 6 pages had cached their runs."),
    "p4_explorer": PageRuns(_groups(**{
        "the_Section_5_and_6_runs_on_x_+_y_mod_97": _p4_modular,
        "the_Section_5_runs_on_MNIST": lambda p: [c for configs in presets.ncc_regulariser_runs(p).values()
                                                  for c in configs],
        "the_Section_6_runs_on_MNIST": lambda p: [c for configs in presets.flatness_regulariser_runs(p).values()
                                                  for c in configs]}),
        measured=f"quick: 10 s on {_LOADED}, once the Section 5 and 6 pages had cached their runs."),
    "p4_fig1_grokking": PageRuns(_groups(the_candidate_settings=_needed_candidates),
        measured=f"quick: 888 s on {_LOADED} (and a book build), nothing cached; the run groks near step "
                 "1,300 and stops 1,000 steps later."),
    "p4_sec5_ncc_regulariser": PageRuns(_groups(**{"the_baseline_and_every_λ": lambda p: [
        c for configs in presets.ncc_regulariser_runs(p).values() for c in configs],
        "x_+_y_mod_97": lambda p: [c for configs in presets.modular_ncc_runs(p).values() for c in configs],
        "the_exploratory_re-runs": lambda p: [c for arms in presets.collapse_probe_runs(p).values()
                                              for configs in arms.values() for c in configs]}),
        measured=f"quick: 502 s on {_LOADED}, nothing cached (its MNIST runs and the x + y mod 97 runs); the "
                 "exploratory re-runs, added later, train 95 more seconds (timed alone on a faster idle VM)."),
    "p4_sec6_flatness_regulariser": PageRuns(_groups(the_baseline_and_the_regularised_runs=lambda p: [
        c for configs in presets.flatness_regulariser_runs(p).values() for c in configs],
        **{"x_+_y_mod_97": lambda p: [c for configs in presets.modular_flatness_runs(p).values() for c in configs]}),
        measured=f"quick: 354 s on {_LOADED}, once the Section 5 page had cached the shared baselines."),
    "p4_theory": PageRuns(_groups(**{"Figure_1's_chosen_setting": _needed_candidates,
                                     "the_Section_5_and_6_runs_on_MNIST": _p4_mnist,
                                     "the_Section_5_and_6_runs_on_x_+_y_mod_97": _p4_modular}),
        measured=f"quick: 10 s on {_LOADED}, once the Figure 1 and Section 5 and 6 pages had cached their runs."),
    "p5_leaderboard": PageRuns(_groups(the_grid=_grid_runs),
        measured=f"quick: 390 s with papermill on {_QUIET}, nothing cached (it trains the reduced grid's 8 runs)."),
    "p5_collisions": PageRuns(_groups(**{
        "the_grid": _grid_runs,
        "Part_IV's_Section_5_runs_on_MNIST": lambda p: [c for configs in presets.ncc_regulariser_runs(p).values()
                                                       for c in configs],
        "Part_IV's_Section_5_runs_on_x_+_y_mod_97": lambda p: [
            c for configs in presets.modular_ncc_runs(p).values() for c in configs],
        **_MAIN, "Part_III's_norm-matched_control": _arm("norm-matched"), "Part_III's_mixing": _arm("mixing")}),
        measured=f"quick: 272 s with papermill on {_QUIET}, once the leaderboard had cached the grid and Part IV's "
                 "pages its Section 5 runs (it trained Part III's intervention runs)."),
    "p5_explorer": PageRuns(_groups(**{"x_+_y_mod_97": _grid_task("add"), "x_−_y_mod_97": _grid_task("sub"),
                                       "x_·_y_mod_97": _grid_task("mul"), "S5": _grid_task("s5"),
                                       "MNIST": _grid_task("mnist")}),
        measured=f"quick: 10 s with papermill on {_QUIET}, once the leaderboard had cached the grid."),
    "p5_monitor": PageRuns(_groups(), records=_groups(**{"x_+_y_mod_31_in_a_plain_loop": lambda p: [
        presets.monitor_loop_config(p)]}), measured=(
            f"quick: 48 s with papermill on {_LOADED}, kernel start included (the loop itself 38 s, 19 % of it in "
            f"the monitor); paper: 10 s with papermill on {_QUIET}, kernel start included, reading the loop's "
            "recording (the loop took 27 s on one thread when it was recorded).")),
    "seminar_guide": PageRuns(_groups(), measured="quick: seconds (it only lists what the classes run)."),
    "ex_p1_collapse": PageRuns(_groups(), measured=(
        "every profile: about 6 s with papermill on the development VM while two training processes shared its "
        "2 cores, kernel start included; no runs, the checks compute on small tensors.")),
    "ex_p2_robustness": PageRuns(_groups(), measured=(
        "every profile: about 6 s with papermill on the development VM while two training processes shared its "
        "2 cores, kernel start included; no runs, the checks compute on small tensors.")),
    "ex_p3_spectral": PageRuns(_groups(), measured=(
        "every profile: about 6 s with papermill on the development VM while two training processes shared its "
        "2 cores, kernel start included; no runs, the checks compute on small tensors.")),
    "ex_p4_flatness": PageRuns(_groups(), measured=(
        "every profile: about 6 s with papermill on the development VM while two training processes shared its "
        "2 cores, kernel start included; no runs, the checks compute on small tensors.")),
    "p3_00_chapter": PageRuns(_groups(**_MAIN, **_ARMS, **_TASKS, the_MLP=presets.spectral_mlp), measured=(
        "quick: about 18 minutes on the development VM with nothing cached (the quick runtimes of the pages that "
        "train what it reads); seconds after them.")),
    "p3_two_phases": PageRuns(_groups(**_MAIN, S5_controls=_task("s5")), measured=(
        f"quick: 176 s on the development VM with nothing cached ({_SHARED_CORES}).")),
    "p3_explorer": PageRuns(_groups(**_MAIN, **_ARMS, **_TASKS), measured=(
        "quick: not measured with nothing cached (it reads the quick runs that the intervention and threshold pages "
        f"train), seconds once they are cached; paper: 6 s with papermill, kernel start included ({_SHARED_CORES}).")),
    "p3_forecast": PageRuns(_groups(**_MAIN), measured=(
        f"quick: 176 s on the development VM when the main runs are not cached yet, 1 s once they are "
        f"({_SHARED_CORES}).")),
    "p3_calibration": PageRuns(_groups(the_procedures=_calibration), measured=(
        "quick: four runs of 8,000 steps (train fraction 0.3, both β₂, both initialisations); three of them "
        "recorded 411, 657 and 812 s of wall time on the development VM while two other training processes shared "
        "its 2 cores (expect about half on an idle laptop), so about 40 minutes in all with nothing cached.")),
    "p3_intervention": PageRuns(_groups(**_MAIN, **_ARMS, the_other_mixing_strengths=_doses), measured=(
        f"quick: 376 s on the development VM with nothing cached, before the stronger mixing was added; its quick "
        f"seed adds 75 s ({_SHARED_CORES}).")),
    "p3_threshold": PageRuns(_groups(**_MAIN, **_TASKS, S5_with_a_larger_split=presets.spectral_s5_larger_split,
                                     S5_at_larger_fractions=_s5_fractions),
                             measured=(f"quick: 266 s on the development VM with nothing cached, before the larger "
                                       f"S5 split was added; its quick seed adds 94 s ({_SHARED_CORES}).")),
    "p3_not_sufficient": PageRuns(_groups(the_MLP=presets.spectral_mlp, **_MAIN), measured=(
        f"quick: 96 s on the development VM with nothing cached ({_SHARED_CORES}).")),
    "p3_lemmas": PageRuns(_groups(**_MAIN, **{"one_run_of_x_+_y_(its_probe_representations)":
                                              lambda p: [presets.spectral_lemmas(p)]}),
                          measured=(
        f"quick: 36 s on the development VM with nothing cached (the run trains once; its representations are "
        f"cached), seconds after; paper: seconds, reading the stored representations ({_SHARED_CORES}).")),
    "p3_monitor": PageRuns(_groups(calibration=lambda p: [] if p == "smoke" else presets.spectral_main(p)),
                           records=_groups(a_new_seed_in_its_own_loop=lambda p: [presets.spectral_monitor_config(p)]),
                           measured=(
        f"quick: 80 s on the development VM with nothing cached ({_SHARED_CORES}); paper: 10 s with papermill on "
        f"{_QUIET}, kernel start included, reading the loop's recording (the loop took 105 s on one thread when it "
        "was recorded).")),
}


def describe(configs: Sequence[Config]) -> str:
    """Runs of one group in words, from the fields in which they differ: ``30 runs (6 weight_decay ×
    5 seeds), 100,000 steps``; one entry per value where the seed counts differ."""
    if not configs:
        return "no runs"
    fields = [name for name in configs[0].to_dict() if name not in ("seed", "num_steps", "device")
              and len({repr(getattr(c, name)) for c in configs}) > 1]
    groups = Counter(tuple(getattr(c, name) for name in fields) for c in configs)
    steps = sorted({c.num_steps for c in configs})
    budget = f"{steps[0]:,} steps" if len(steps) == 1 else f"{steps[0]:,}–{steps[-1]:,} steps"
    if len(configs) == 1:
        return f"1 run, {budget}"
    seeds = set(groups.values())
    seed_text = [] if seeds == {1} else [f"{max(seeds)} seeds"]
    counts = [len({repr(getattr(c, n)) for c in configs}) for n in fields]
    if len(seeds) == 1 and math.prod(counts) == len(groups):  # a full grid
        shape = " × ".join([f"{count} {n}" for count, n in zip(counts, fields)] + seed_text)
    elif len(seeds) == 1:
        shape = " × ".join([f"{len(groups)} combinations of {', '.join(fields)}"] + seed_text)
    else:
        shape = "; ".join(", ".join(f"{n} {v}" for n, v in zip(fields, key)) + f": {count} seed{'s' * (count > 1)}"
                          for key, count in groups.items())
    return f"{len(configs)} runs ({shape}), {budget}"


def _listed(groups: dict[str, list[Config]]) -> str:
    return "; ".join(f"{name}: {describe(configs)}" for name, configs in groups.items() if configs)


def _chapters(configs: Sequence[Config]) -> list[str]:
    keys = {c.key() for c in configs}
    stored = {chapter: {c.key() for c in runs} for chapter, runs in presets.paper_runs().items()}
    for chapter, probed in presets.chapter_probes("paper").items():
        stored.setdefault(chapter, set()).update(c.key() for c, _ in probed)
    return [chapter for chapter, chapter_keys in stored.items() if keys & chapter_keys]


def profile_and_runtime(page: str) -> Markdown:
    """The page's "Profile and runtime" paragraph, computed from :data:`PAGES`, folded (``<details>``) so that a
    page opens with its argument."""
    runs = _page(page)
    parts = ["The `parameters` cell sets the profile."]
    for profile in PROFILES[::-1]:
        reads = {name: configs for name, configs in runs.reads(profile).items() if configs}
        text = []
        if reads:
            verb = "reads the stored runs" if profile == "paper" else "trains and caches for the pages after it"
            text.append(f"{verb} — {_listed(reads)}")
        looped = runs.records(profile)
        if looped and profile == "paper":
            text.append(f"reads the stored recording of its own plain loop — {_listed(looped)}; one command "
                        f"records it again: `python -m grokutils.regenerate --chapter {page}`")
        elif looped:
            text.append(f"trains in its own plain loop, storing nothing, {_listed(looped)}")
        if not text:
            text.append("reads and trains no runs")
        parts.append(f'`"{profile}"` ' + "; it ".join(text) + ".")
        if profile == "paper" and reads:
            chapters = _chapters([c for configs in reads.values() for c in configs])
            parts.append("One command regenerates them: `python -m grokutils.regenerate " + " ".join(
                f"--chapter {chapter}" for chapter in chapters) + "`.")
    if runs.measured:
        parts.append(f"Measured: {runs.measured}")
    parts.append("The runtime is printed at the end.")
    return Markdown("<details>\n<summary><b>Profile and runtime</b>: what this page reads or trains, how long it "
                    "takes, how to regenerate it</summary>\n\n" + " ".join(parts) + "\n\n</details>")


def _page(page: str) -> PageRuns:
    if not isinstance(page, str) or page not in PAGES:
        raise ValueError(f"page={page!r} is not a notebook of the book; expected one of {sorted(PAGES)}.")
    return PAGES[page]


#: The papermill parameters of every page (its ``parameters`` cell) and their types.
PARAMETERS = {"profile": str, "progress": bool}
NOTEBOOKS = REPO_ROOT / "notebooks"
#: Names that IPython itself defines in a notebook's namespace (names starting with ``_`` are skipped too).
IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


def notebook_names(page: str, folder: Path = NOTEBOOKS) -> set[str]:
    """Every name the page's own code cells bind (assignments, loops, imports, definitions), so that a
    notebook whose later cells already ran (a live kernel) can run its setup cell again. Empty when the
    notebook file is not there (an installed package)."""
    path = folder / f"{page}.ipynb"
    if not path.is_file():
        return set()
    names = set()
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        lines = [line for line in "".join(cell["source"]).splitlines() if not line.lstrip().startswith(("%", "!"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def check_parameters(namespace: dict, page: str | None = None) -> None:
    """Refuse, before any work, a notebook namespace whose parameters are wrong: a missing or mistyped
    ``profile`` or ``progress`` (:data:`PARAMETERS`; ``profile`` one of the profiles), or any other name
    that papermill injected (``-p NAME VALUE``) and the page never uses. Modules, names starting with ``_``,
    IPython's own names and the names the page's notebook binds itself (:func:`notebook_names`) are not
    parameters. ``ValueError`` names the parameter, its value and what is allowed."""
    if not isinstance(namespace, dict):
        raise ValueError(f"namespace must be the notebook's globals() (a dict), got {type(namespace).__name__}.")
    where = f"notebook {page!r}" if page else "notebook"
    allowed = "; ".join(f"{name} ({kind.__name__})" for name, kind in PARAMETERS.items())
    for name, kind in PARAMETERS.items():
        if name not in namespace:
            raise ValueError(f"{where}: the parameter {name!r} is not set; the parameters cell must define {allowed}.")
        value = namespace[name]
        if not isinstance(value, kind):
            expected = f"one of {PROFILES}" if name == "profile" else "True or False"
            raise ValueError(f"{where}: parameter {name}={value!r} is a {type(value).__name__}; expected a "
                             f"{kind.__name__}, {expected}.")
    try:
        check_profile(namespace["profile"])
    except ValueError as error:
        raise ValueError(f"{where}: parameter {error}") from None
    own = notebook_names(page) if page else set()
    unknown = sorted(name for name, value in namespace.items()
                     if not name.startswith("_") and name not in PARAMETERS and name not in IPYTHON_NAMES
                     and name not in own and not isinstance(value, types.ModuleType))
    if unknown:
        shown = ", ".join(f"{name}={namespace[name]!r:.40}" for name in unknown)
        raise ValueError(f"{where}: unknown parameter(s) {shown}. A page takes only {allowed} "
                         f"(papermill -p profile quick -p progress False); check the spelling.")


@dataclass
class Page:
    """One notebook run: its name, profile, result store and start time (see :func:`start`), and whether
    runs show a progress bar."""

    name: str
    profile: str
    store: ResultStore
    started: float
    progress: bool = True

    def about(self) -> Markdown:
        """The "Profile and runtime" paragraph (:func:`profile_and_runtime`)."""
        return profile_and_runtime(self.name)

    def says(self, what: str) -> None:
        """Print what the page read or trained, after its profile."""
        print(f"profile={self.profile!r}: {what}")

    def finish(self) -> None:
        """Print the page's runtime and what it included."""
        runs = _page(self.name)
        if runs.trains_live(self.profile):
            kind = "its loop trains here"
        elif runs.records(self.profile):
            kind = "reading the stored recording of its loop"
        elif not any(runs.reads(self.profile).values()):
            kind = "no runs read or trained"
        elif self.profile == "paper":
            kind = "reading stored results"
        else:
            kind = "training included, unless cached"
        print(f"profile={self.profile!r}: this notebook ran in {time.perf_counter() - self.started:.0f} s ({kind}).")


def start(page: str, profile: str, progress: bool = True, namespace: dict | None = None) -> Page:
    """Begin a notebook page: check its name, profile and ``progress``, and with ``namespace`` (the
    notebook's ``globals()``) its papermill parameters (:func:`check_parameters`), all before any work;
    then set the book's figure style, pick the profile's result store and start the clock."""
    _page(page)
    if namespace is not None:
        check_parameters(namespace, page)
    check_profile(profile)
    if not isinstance(progress, bool):
        raise ValueError(f"progress={progress!r} is a {type(progress).__name__}; expected True or False.")
    plots.use_book_style()
    return Page(page, profile, store_for(profile), time.perf_counter(), progress)
