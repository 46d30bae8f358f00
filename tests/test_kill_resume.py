"""Kill and resume: a run interrupted by SIGINT (Ctrl-C) in another process after its first checkpoint
resumes from that checkpoint, and its history and final parameters are bit-identical to those of an
uninterrupted run, for the training loop and for the sweep engine."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
import torch

import grokutils as gu
from grokutils.runs import REPO_ROOT
from grokutils.sweep import train_sweep
from grokutils.train import train

EVERY_STEPS = 20
SCRIPT = """
import json, signal, sys, time
# A shell that starts a job in the background (`make test &`, `nohup ...`) leaves SIGINT ignored, and Python then
# installs no KeyboardInterrupt handler: restore it, so that the test's SIGINT interrupts the run wherever it runs.
signal.signal(signal.SIGINT, signal.default_int_handler)
import torch
import grokutils as gu
from grokutils.sweep import train_sweep
from grokutils.train import train

engine, checkpoint, threads, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.set_num_threads(threads)
configs = [gu.Config.from_dict(values) for values in json.loads(sys.argv[5])]

def slow(context):
    time.sleep(0.05)  # leaves the test time to interrupt the run after its first checkpoint
    return {}

options = dict(callbacks=[slow], progress=False, checkpoint_path=checkpoint, checkpoint_every_s=3600,
               checkpoint_every_steps=every)
train(configs[0], **options) if engine == "train" else train_sweep(configs, **options)
print("FINISHED")
"""


def configs() -> list[gu.Config]:
    base = gu.presets.nanda("smoke", d_model=16, d_mlp=32, num_steps=200, batch_size=64, eval_schedule="every:5",
                            device="cpu")
    return [base, base.replace(seed=1, weight_decay=0.5), base.replace(seed=2)]


def interrupt_after_first_checkpoint(engine: str, members: list[gu.Config], checkpoint) -> dict:
    """Run ``engine`` on ``members`` in a subprocess, send it SIGINT once its first checkpoint exists,
    and return the checkpoint it left (read as the loops read it: weights only)."""
    arguments = [engine, str(checkpoint), str(torch.get_num_threads()), str(EVERY_STEPS),
                 json.dumps([c.to_dict() for c in members])]
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, *arguments], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpoint.exists(), f"no checkpoint appeared (exit code {process.poll()})"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode != 0 and "KeyboardInterrupt" in err and "FINISHED" not in out, (out, err[-2000:])
    state = torch.load(checkpoint, weights_only=True)
    assert EVERY_STEPS <= state["step"] < members[0].num_steps
    return state


def assert_bit_identical(resumed: gu.Result, reference: gu.Result) -> None:
    assert resumed.steps == reference.steps
    assert sorted(resumed.history) == sorted(reference.history)
    for name in resumed.history:
        if name != "wall_time":
            assert resumed.history[name] == reference.history[name], name


@pytest.mark.slow
def test_train_killed_after_its_first_checkpoint_resumes_bit_identically(tmp_path):
    config = configs()[0]
    checkpoint = tmp_path / "run.pt"
    state = interrupt_after_first_checkpoint("train", [config], checkpoint)
    seen = []
    resumed = train(config, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                    checkpoint_path=checkpoint, checkpoint_every_s=3600, checkpoint_every_steps=EVERY_STEPS)
    assert seen[0] > state["step"] > 0  # resumed from the checkpoint, not from step 0
    reference = train(config, progress=False)
    assert_bit_identical(resumed, reference)
    for name, tensor in reference.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[name], tensor), name


@pytest.mark.slow
def test_a_sweep_killed_after_its_first_checkpoint_resumes_bit_identically(tmp_path):
    members = configs()
    checkpoint = tmp_path / "sweep.pt"
    state = interrupt_after_first_checkpoint("sweep", members, checkpoint)
    seen = []
    resumed = train_sweep(members, callbacks=[lambda c: seen.append(c.step) or {}], progress=False,
                          checkpoint_path=checkpoint, checkpoint_every_s=3600, checkpoint_every_steps=EVERY_STEPS)
    assert seen[0] > state["step"] > 0
    reference = train_sweep(members, progress=False)
    for a, b in zip(resumed, reference):
        assert_bit_identical(a, b)
