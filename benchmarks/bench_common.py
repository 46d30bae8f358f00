"""What the speed benchmarks share: where they write, the machine they ran on, best-of timing summaries."""

from __future__ import annotations

import os
import platform
import socket
from datetime import datetime, timezone
from pathlib import Path

import torch

import grokutils as gu

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def environment() -> dict:
    """The machine and software a benchmark ran on (threads: torch's intra-op threads now)."""
    return {"hostname": socket.gethostname(), "torch": torch.__version__, "grokutils": gu.__version__,
            "python": platform.python_version(), "threads": torch.get_num_threads(), "cpu": cpu_model(),
            "cpu_count": os.cpu_count(), "platform": platform.platform()}


def per_step(runs: list[dict], steps: int) -> dict:
    """Best (lowest) ms/step over ``runs``, training only and training + evaluation."""
    return {"train_ms_per_step": min(1000 * r["train_s"] / steps for r in runs),
            "total_ms_per_step": min(1000 * (r["train_s"] + r["eval_s"]) / steps for r in runs),
            "all_total_ms_per_step": [round(1000 * (r["train_s"] + r["eval_s"]) / steps, 3) for r in runs],
            # whole call (setup included), wall clock and process CPU time: CPU time well below
            # threads x wall time means the cores were shared with other processes
            "all_wall_s": [round(r["wall_s"], 3) for r in runs],
            "all_cpu_s": [round(r["cpu_s"], 3) for r in runs]}


def stamped(measure) -> dict:
    """``measure()`` with its start time and the load averages around it (other processes show there)."""
    before, started = load_average(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    section = measure()
    return section | {"started": started, "load_average_before": before, "load_average_after": load_average()}
