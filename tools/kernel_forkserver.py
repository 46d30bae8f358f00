"""Start the book build's Jupyter kernels as forks of one process that has already imported the heavy libraries.

Every page of the book runs in a fresh kernel, as it would in JupyterLab. On two cores a kernel spends about
five seconds starting, almost all of it importing torch, SciPy, pandas, matplotlib and IPython: the same work
for each of the book's 40-odd notebooks. The fork server imports them once; each kernel is then a fork of it
that starts ipykernel exactly as ``python -m ipykernel_launcher -f CONNECTION_FILE`` does, with the same argv,
environment, working directory and ``sys.path``, in a session of its own. What differs from a fresh process:

- :data:`PRELOADED` modules are already in ``sys.modules``, imported under the same environment (a launch
  whose environment differs from the server's, beyond the per-kernel ``JPY_PARENT_PID``, is started as a plain
  subprocess instead). Neither ``matplotlib.pyplot`` nor ``ipykernel`` is among them: the inline backend hooks
  into each kernel's own shell, and ipykernel reads ``JPY_PARENT_PID`` when it is imported;
- Python's, NumPy's and torch's global random states, which every fork would share, are reseeded from the OS, as
  a fresh process seeds them;
- string hashing uses the server's seed (``PYTHONHASHSEED``) in every kernel.

A kernel ends as its interpreter would (exit handlers run, streams flushed). A server that cannot start, or
dies, leaves the kernels to start as plain processes, with a warning. Used by ``tools/prefill_book_cache.py``
(``make book``) and ``tools/run_notebooks.py`` (``make notebooks``, ``make test``) through
:func:`kernel_manager_class`, the ``kernel_manager_class`` they give nbclient and papermill. Linux only
(:func:`supported`); elsewhere kernels start as usual. Everywhere, each kernel gets its own CurveZMQ keys
where pyzmq has CurveZMQ (:func:`kernel_manager_class`): the tool's messages to it are encrypted, and it no
longer logs a warning that they are not.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

PRELOADED = ("numpy", "pandas", "scipy.stats", "scipy.optimize", "scipy.spatial", "torch", "matplotlib",
             "matplotlib.figure", "IPython", "jupyter_client", "zmq", "tornado", "grokutils.report", "grokutils.runs")
PER_KERNEL_ENV = ("JPY_PARENT_PID",)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def supported() -> bool:
    """Linux only: macOS's system libraries are not safe to use in a child forked without exec (the reason
    Python's multiprocessing spawns there), and Windows has no fork."""
    return sys.platform.startswith("linux")


# ---------------------------------------------------------------------------------------------------- server side


def _become_kernel(argv: list[str], cwd: str, env: dict[str, str]) -> None:
    """In a forked child: what ``python -m ipykernel_launcher ARGS`` does after its interpreter started."""
    import random
    import runpy

    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # fd 1 is the server's reply pipe
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    random.seed()
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    if "torch" in sys.modules:
        sys.modules["torch"].seed()
    sys.argv = ["-m", *argv[3:]]  # run_module puts the launcher's path first, as `python -m` does
    sys.path[0] = cwd  # `python -m` puts the working directory first; the launcher removes it again
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)


def _launch(request: dict[str, Any]) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _become_kernel(request["argv"], request["cwd"], request["env"])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        except BaseException:  # noqa: BLE001 - a kernel's crash must not return into the server's loop
            import traceback

            traceback.print_exc()
        finally:
            _exit_as_python_does(code)
    return pid


def _exit_as_python_does(code: int) -> None:
    """End a forked kernel as its interpreter would end: exit handlers (IPython saves its history and removes its
    temporary files), flushed streams; then ``os._exit``, so that nothing returns into the server's loop."""
    import atexit

    try:
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _poll(pid: int) -> int | None:
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return -1
    return os.waitstatus_to_exitcode(status) if done else None


def serve() -> None:
    """Import :data:`PRELOADED`, then answer one JSON request per line on stdin until it closes."""
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)
    replies = os.fdopen(os.dup(1), "w")
    children: set[int] = set()
    print(json.dumps({"ready": os.getpid()}), file=replies, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "launch":
            pid = _launch(request)
            children.add(pid)
            reply: dict[str, Any] = {"pid": pid}
        else:
            reply = {"returncode": _poll(request["pid"])}
        print(json.dumps(reply), file=replies, flush=True)
    for pid in children:  # the client has gone: no kernel outlives it
        if _poll(pid) is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:  # forked, but its session not made yet
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


# ---------------------------------------------------------------------------------------------------- client side


class ServerGone(RuntimeError):
    """The fork server exited (its own traceback, if any, is on stderr)."""


class ForkServer:
    """A running fork server, started with ``env`` (the environment every kernel it forks must have)."""

    def __init__(self, env: dict[str, str]):
        self.env = _import_environment(env)
        self._lock = threading.Lock()
        server_env = dict(self.env)
        server_env.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets before anything imports matplotlib
        self._process = subprocess.Popen([sys.executable, __file__, "--serve"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env=server_env, text=True)
        self._request(None)

    def _request(self, request: dict[str, Any] | None) -> dict[str, Any]:
        with self._lock:
            if request is not None:
                self._process.stdin.write(json.dumps(request) + "\n")
                self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise ServerGone(f"the kernel fork server (pid {self._process.pid}) exited with "
                             f"{self._process.wait()}; see its traceback above")
        return json.loads(line)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def can_launch(self, cmd: list[str], env: dict[str, str] | None) -> bool:
        plain_kernel = cmd[1:4] == ["-m", "ipykernel_launcher", "-f"] and Path(cmd[0]) == Path(sys.executable)
        return plain_kernel and env is not None and _import_environment(env) == self.env and self.alive

    def launch(self, cmd: list[str], cwd: str, env: dict[str, str]) -> ForkedKernel:
        reply = self._request({"op": "launch", "argv": cmd, "cwd": str(cwd), "env": env})
        return ForkedKernel(self, reply["pid"])

    def returncode(self, pid: int) -> int | None:
        """The kernel's exit code, None while it runs (-1: it ended after the server, which could not reap it)."""
        try:
            return self._request({"op": "poll", "pid": pid})["returncode"]
        except (ServerGone, BrokenPipeError):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return -1
            return None

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.stdin.close()
            self._process.wait()


def _import_environment(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key not in PER_KERNEL_ENV}


class ForkedKernel:
    """The part of :class:`subprocess.Popen` that jupyter_client's ``LocalProvisioner`` uses, for a forked kernel."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, pid: int):
        self.server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_SERVER: ForkServer | None = None


def _server(env: dict[str, str]) -> ForkServer | None:
    """This process's fork server, started at its first kernel with that kernel's environment; None, with a
    warning, if it cannot start (the kernels then start as plain processes)."""
    global _SERVER
    if _SERVER is None:
        try:
            _SERVER = ForkServer(env)
        except (ServerGone, OSError) as error:
            warnings.warn(f"{error}: kernels start as plain processes", stacklevel=2)
            return None
    return _SERVER


@functools.cache
def kernel_manager_class(fork: bool = True):
    """The ``kernel_manager_class`` to give nbclient (or papermill): jupyter_client's asynchronous manager that
    encrypts the messages between the tool and its kernels where it can, and with ``fork`` starts the kernels as
    forks of this process's server (one class per process and value of ``fork``)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.provisioning import LocalProvisioner
    from traitlets import default

    class EncryptingKernelManager(AsyncKernelManager):
        """``AsyncKernelManager`` that gives each kernel its own CurveZMQ keys (``transport_encryption='auto'``,
        jupyter_client ≥ 8.10) where pyzmq has CurveZMQ; the kernel spec must declare it supports them, as
        ipykernel's does. Unencrypted, every kernel logs a warning that its messages travel in plain text."""

        @default("transport_encryption")
        def _where_possible(self) -> str:
            import zmq

            return "auto" if zmq.has("curve") else "disabled"

    if not fork:
        return EncryptingKernelManager

    class ForkingProvisioner(LocalProvisioner):
        """``LocalProvisioner`` whose plain ipykernel launches are forks of the fork server."""

        async def launch_kernel(self, cmd: list[str], **kwargs: Any):
            server = _server(kwargs.get("env") or dict(os.environ))
            if server is None or not server.can_launch(cmd, kwargs.get("env")):
                return await super().launch_kernel(cmd, **kwargs)
            env = dict(kwargs["env"], JPY_PARENT_PID=str(os.getpid()))  # as jupyter_client's launcher sets it
            try:
                self.process = server.launch(cmd, kwargs.get("cwd") or os.getcwd(), env)
            except (ServerGone, BrokenPipeError) as error:
                warnings.warn(f"{error}: this kernel starts as a plain process", stacklevel=2)
                return await super().launch_kernel(cmd, **kwargs)
            self.pid = self.pgid = self.process.pid  # the child called setsid: its own process group
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    class ForkingKernelManager(EncryptingKernelManager):
        """nbclient's kernel manager, with :class:`ForkingProvisioner` in place of the kernel spec's."""

        async def _async_pre_start_kernel(self, **kw: Any):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
                self.provisioner = ForkingProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                      parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return ForkingKernelManager


def client_options(fork: bool) -> dict[str, Any]:
    """The keyword arguments of nbclient's (or papermill's) execution: encrypted kernels, started from the fork
    server unless ``fork`` is off or the system is not :func:`supported`."""
    return {"kernel_manager_class": kernel_manager_class(fork and supported())}


def share_of_cores(workers: int) -> int:
    """Threads for each of ``workers`` processes that run kernels at once: the cores split evenly, at least one
    (two threads on one core spin-wait for each other: PyTorch's OpenMP)."""
    return max(1, (os.cpu_count() or 1) // workers)


def limit_kernel_threads(threads: int) -> None:
    """Kernels started from this process from now on use ``threads`` threads (OpenMP's and MKL's variables,
    which their environment inherits)."""
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)


def add_fork_option(parser) -> None:
    """The ``--no-fork`` option of the tools that run notebooks (``args.fork``, True unless given)."""
    parser.add_argument("--no-fork", dest="fork", action="store_false",
                        help="start every kernel as a plain process, not as a fork of the preloaded server")


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    serve()
