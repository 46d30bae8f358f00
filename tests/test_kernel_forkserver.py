"""The book build's forked kernels (tools/kernel_forkserver.py) behave as fresh ones: same working directory,
sys.path, argv and environment, inline figures, their own random states, nothing left running; forked or not,
they talk to the tools over encrypted sockets."""

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_cache.executors.utils import single_nb_execution

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import kernel_forkserver  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not kernel_forkserver.supported(), reason="the fork server runs on Linux only")]

CELLS = [
    "import json, os, random, sys\nimport numpy as np\nimport torch\nimport matplotlib.pyplot as plt",
    "print(json.dumps({'cwd': os.getcwd(), 'path': sys.path, 'argv0': os.path.basename(sys.argv[0]),\n"
    "  'env': os.environ.get('FORKSERVER_TEST'), 'parent': os.environ.get('JPY_PARENT_PID'),\n"
    "  'backend': plt.get_backend(), 'threads': torch.get_num_threads(), 'pid': os.getpid(),\n"
    "  'random': [random.random(), float(np.random.rand()), float(torch.rand(1))]}))",
    "plt.plot([1, 2, 3]);",
]


def execute(tmp_path: Path, fork: bool) -> tuple[dict, list[str]]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell) for cell in CELLS])
    forking = {"kernel_manager_class": kernel_forkserver.kernel_manager_class()} if fork else {}
    result = single_nb_execution(notebook, cwd=str(tmp_path), timeout=120, allow_errors=False, **forking)
    assert result.err is None, result.exc_string
    printed = notebook.cells[1].outputs[0]["text"]
    return json.loads(printed), [key for output in notebook.cells[2].outputs for key in output.get("data", {})]


@pytest.fixture
def environment(monkeypatch):
    monkeypatch.setenv("FORKSERVER_TEST", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    if kernel_forkserver._SERVER is not None:
        kernel_forkserver._SERVER.close()
        kernel_forkserver._SERVER = None


def test_a_forked_kernel_runs_a_notebook_as_a_fresh_kernel_does(tmp_path, environment):
    plain, plain_figure = execute(tmp_path, fork=False)
    forked, forked_figure = execute(tmp_path, fork=True)
    again, _ = execute(tmp_path, fork=True)
    for key in ("cwd", "path", "argv0", "env", "backend", "threads"):
        assert forked[key] == plain[key], key
    assert forked["parent"] == again["parent"] == str(os.getpid())
    assert "image/png" in plain_figure and forked_figure == plain_figure
    assert forked["pid"] != again["pid"]
    for name, first, second in zip(("random", "numpy", "torch"), forked["random"], again["random"]):
        assert first != second, f"two forked kernels share {name}'s global random state"


def test_a_forked_kernel_runs_its_exit_handlers(tmp_path, environment):
    marker = tmp_path / "exited"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        f"import atexit, pathlib\natexit.register(pathlib.Path({str(marker)!r}).write_text, 'yes')")])
    result = single_nb_execution(notebook, cwd=str(tmp_path), timeout=120, allow_errors=False,
                                 kernel_manager_class=kernel_forkserver.kernel_manager_class())
    assert result.err is None and marker.read_text() == "yes"


def test_a_kernel_with_another_environment_is_started_as_a_plain_process(tmp_path, environment, monkeypatch):
    execute(tmp_path, fork=True)
    server = kernel_forkserver._SERVER
    monkeypatch.setenv("FORKSERVER_TEST", "2")
    other, _ = execute(tmp_path, fork=True)
    assert other["env"] == "2"
    assert not server.can_launch([sys.executable, "-m", "ipykernel_launcher", "-f", "x.json"], dict(os.environ))


def test_closing_the_server_leaves_no_kernel_running(tmp_path, environment):
    execute(tmp_path, fork=True)
    server = kernel_forkserver._SERVER
    kernel = server.launch([sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / "k.json")],
                           str(tmp_path), dict(os.environ, JPY_PARENT_PID=str(os.getpid())))
    assert kernel.poll() is None
    server.close()
    kernel_forkserver._SERVER = None
    with pytest.raises(ProcessLookupError):
        os.kill(kernel.pid, 0)


def test_a_dead_server_leaves_kernels_to_start_as_plain_processes(tmp_path, environment):
    execute(tmp_path, fork=True)
    server = kernel_forkserver._SERVER
    server._process.kill()
    server._process.wait()
    assert not server.alive and server.returncode(2 ** 22 + 12345) == -1  # no such kernel, and nobody to ask
    facts, figure = execute(tmp_path, fork=True)
    assert facts["env"] == "1" and "image/png" in figure


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "plain"])
def test_the_tools_kernels_use_encrypted_sockets(tmp_path, environment, fork):
    import zmq

    if not zmq.has("curve"):
        pytest.skip("this pyzmq has no CurveZMQ")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from ipykernel.kernelapp import IPKernelApp\nprint(IPKernelApp.instance().curve_secretkey is not None)")])
    result = single_nb_execution(notebook, cwd=str(tmp_path), timeout=120, allow_errors=False,
                                 **kernel_forkserver.client_options(fork))
    assert result.err is None, result.exc_string
    assert notebook.cells[0].outputs[0]["text"].strip() == "True"
