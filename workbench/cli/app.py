"""``workbench app``: serve the workshop notebook as a Voilà app, offline, with the app's own template.

Voilà runs as a child process (``python -m voila``) so that the domain core never imports it. Tests and the
benchmark start the server through :func:`start_voila`, the same code path as the command.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import CliError

__all__ = ["VoilaServer", "free_port", "register", "start_voila", "voila_command", "voila_env"]

TEMPLATE_NAME = "workbench"
#: The import step accepts files up to 50 MB; an upload travels as one websocket message (base64 is ≈ 4/3
#: of the file, plus a JSON envelope), so ``widgets/voila/voila.json`` sets tornado's
#: ``websocket_max_message_size`` to twice the file limit (tornado's default, 10 MiB, would drop the socket).
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
WEBSOCKET_MAX_MESSAGE_BYTES = 2 * MAX_UPLOAD_BYTES
#: Seconds before a used preheated kernel is replaced. Voilà's default (1 s) starts the replacement while the
#: first visitor's page is still rendering, and both run the whole chain on the same 2 cores. bench/app.py on
#: the 2,000-account sample (2 cores, load avg ~8 from other jobs), first visit to first chart: 84 s with 1 s
#: versus 60 s with 60 s in one pair of runs, 52 s versus 48 s in another.
REFILL_DELAY_S = 30.0


def _package_dir(name: str) -> Path:
    """Folder of a top-level package found without importing it (``widgets`` imports ipywidgets)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise CliError(f"the '{name}' package is not installed next to workbench; run 'make venv' first")
    return Path(next(iter(spec.submodule_search_locations)))


def template_data_dir() -> Path:
    """A Jupyter data folder holding ``voila/templates/workbench`` (it is the ``widgets`` package folder)."""
    return _package_dir("widgets")


def voila_config_dir() -> Path:
    """Folder of the app's ``voila.json`` (server settings)."""
    return template_data_dir() / "voila"


def default_notebook() -> Path:
    """``notebooks/workshop.ipynb`` of the project checkout."""
    return _package_dir("workbench").parent / "notebooks" / "workshop.ipynb"


def voila_command(notebook: Path, host: str, port: int, python: str | None = None,
                  preheat: bool = True, refill_delay: float | None = REFILL_DELAY_S) -> list[str]:
    """The argument list that serves ``notebook`` with Voilà on ``host:port`` (never opens a browser).

    Parameters
    ----------
    notebook : Path
        The notebook to serve; only this notebook is reachable (no file browser).
    host : str
        Interface to listen on, e.g. ``127.0.0.1``.
    port : int
        TCP port; Voilà must not fall back to another one, or the printed URL would be wrong.
    python : str, optional
        Interpreter that has voila installed; defaults to the running one.
    preheat : bool
        Keep one kernel that has already run the notebook waiting for the next visitor. The workshop cell
        loads the book and runs the whole chain (tens of seconds on a big book), so without it every visit
        waits for that before the first chart appears; with it, a visit takes the finished kernel.
    refill_delay : float, optional
        Seconds after a visit takes the preheated kernel before the next one starts (``None``: Voilà's 1 s).
        The refill runs the whole notebook again and competes for the CPU with the visitor who just arrived;
        a visit while the pool is empty gets a fresh kernel (as without preheating).
    """
    pool = ["--preheat_kernel=True", "--pool_size=1"] if preheat else ["--preheat_kernel=False"]
    if preheat and refill_delay is not None:
        pool.append(f"--VoilaKernelManager.fill_delay={float(refill_delay)}")
    return [
        python or sys.executable, "-m", "voila", str(notebook),
        "--no-browser",
        f"--Voila.ip={host}",
        f"--Voila.port={int(port)}",
        "--Voila.port_retries=0",
        f"--Voila.root_dir={notebook.parent}",
        f"--template={TEMPLATE_NAME}",
        "--theme=light",
        "--strip_sources=True",
        "--show_tracebacks=False",
        # A viewer must not switch to the stock template (it loads Font Awesome from a CDN) via ?template=.
        "--VoilaConfiguration.allow_template_override=NO",
        "--VoilaConfiguration.allow_theme_override=NO",
        # Server settings that the command line cannot carry typed (tornado's websocket limit) live here;
        # it also keeps a user's own voila.json from changing the app.
        f"--Voila.config_file_paths={voila_config_dir()}",
        *pool,
    ]


def voila_env(book: str | Path | None = None, base: dict[str, str] | None = None,
              store: str | Path | None = None) -> dict[str, str]:
    """Environment for the Voilà process: our template folder first on ``JUPYTER_PATH``, the book folder, the
    scenario store.

    The kernel inherits it, so ``widgets.app.default_book_path`` sees ``WORKBENCH_BOOK`` and the Scenarios step
    ``WORKBENCH_STORE``.
    """
    env = dict(os.environ if base is None else base)
    data_dirs = [str(template_data_dir())]
    if env.get("JUPYTER_PATH"):
        data_dirs.append(env["JUPYTER_PATH"])
    env["JUPYTER_PATH"] = os.pathsep.join(data_dirs)
    if book is not None:
        env["WORKBENCH_BOOK"] = str(Path(book).expanduser().resolve())
    if store is not None:
        env["WORKBENCH_STORE"] = str(Path(store).expanduser().resolve())
    # Server log lines should reach the terminal (or a test's log file) as they happen.
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _stop_with_parent() -> None:
    """In the Voilà child: get SIGTERM when the parent dies, even by SIGKILL (a killed test run or ``workbench
    app``), so that no server and no kernels are left behind. Linux only; elsewhere a no-op."""
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except OSError:
        pass


class VoilaServer:
    """A running Voilà child process; ``url`` is where the app is (with ``?token=`` when one is required),
    ``stop()`` ends it (and its kernels)."""

    def __init__(self, process: subprocess.Popen, host: str, port: int, token: str | None = None):
        self.process = process
        self.host = host
        self.port = port
        self.token = token
        self.url = f"http://{host}:{port}/" + (f"?token={token}" if token else "")

    def wait_until_listening(self, timeout: float = 60.0) -> None:
        """Block until the server accepts connections; raise if it exits or ``timeout`` (s) passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CliError(f"Voilà exited with status {self.process.returncode} before serving {self.url}")
            if _port_in_use(self.host, self.port):
                return
            time.sleep(0.1)
        raise CliError(f"Voilà did not start listening on {self.url} within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        """Ask Voilà to shut down (SIGTERM lets it stop its kernels), kill it if it does not."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def _is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses; anything else may be reachable from other machines."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def start_voila(notebook: str | Path | None = None, host: str = "127.0.0.1", port: int = 8866,
                book: str | Path | None = None, preheat: bool = True, token: str | None = None,
                refill_delay: float | None = REFILL_DELAY_S, stdout=None, stderr=None,
                store: str | Path | None = None) -> VoilaServer:
    """Start Voilà serving the workshop app in a child process; return at once (see ``wait_until_listening``).

    Parameters
    ----------
    notebook : str or Path, optional
        Notebook to serve; defaults to ``notebooks/workshop.ipynb``.
    host, port : str, int
        Where to listen.
    book : str or Path, optional
        Book folder the app loads at start (``WORKBENCH_BOOK``); default: the app's own default.
    preheat : bool
        Keep a kernel that has already run the notebook ready for the next visit (see ``voila_command``).
    token : str, optional
        Access token required on every request. The workshop app can read any folder the server can (the
        import step's book folder), so a ``host`` other than loopback always gets one (random if not given).
    refill_delay : float, optional
        Seconds before a used preheated kernel is replaced (see ``voila_command``).
    stdout, stderr : file or int, optional
        Where the server's log goes (``subprocess.Popen`` semantics); default: inherited.
    store : str or Path, optional
        Scenario store file the Scenarios step saves to (``WORKBENCH_STORE``; default
        ``workspace/scenarios.sqlite``); the dashboard (``workbench serve --store``) shows what is published there.
    """
    nb = Path(notebook) if notebook is not None else default_notebook()
    if not nb.is_file():
        raise CliError(f"notebook not found: {nb}")
    if book is not None and not Path(book).expanduser().is_dir():
        raise CliError(f"book folder not found: {book}")
    if _port_in_use(host, port):
        raise CliError(f"port {port} on {host} is already in use; pass another one with --port")
    if not token and not _is_loopback(host):
        token = secrets.token_urlsafe(24)
    cmd = voila_command(nb.resolve(), host, port, preheat=preheat, refill_delay=refill_delay)
    if token:
        cmd.append(f"--Voila.token={token}")
    if store is not None and not Path(store).expanduser().resolve().parent.is_dir():
        raise CliError(f"the folder of the scenario store does not exist: {Path(store).expanduser().parent}")
    proc = subprocess.Popen(cmd, env=voila_env(book, store=store), cwd=str(nb.resolve().parent), stdout=stdout, stderr=stderr,
                            preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None)
    return VoilaServer(proc, host, port, token)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="serve the workshop app with Voilà (offline, no browser is opened)",
                       description="Serve notebooks/workshop.ipynb as a Voilà app with the workbench template.")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; any other address requires a token)")
    p.add_argument("--port", type=int, default=8866, help="TCP port (default 8866)")
    p.add_argument("--book", default=None, help="book folder to load at start (default: sample_data)")
    p.add_argument("--token", default=None, help="access token (default: random when not on loopback)")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="scenario store the Scenarios step saves to (default: $WORKBENCH_STORE or "
                        "workspace/scenarios.sqlite); give 'workbench serve' the same one")
    p.add_argument("--no-preheat", dest="preheat", action="store_false",
                   help="do not keep a ready kernel for the next visitor (saves memory; every visit waits)")
    p.set_defaults(func=_main)


def _raise_keyboard_interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _main(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise CliError(f"--port must be between 1 and 65535, got {args.port}")
    server = start_voila(host=args.host, port=args.port, book=args.book, preheat=args.preheat, token=args.token,
                         store=args.store)
    return serve_until_stopped(server, f"Workshop app: {server.url}  (Ctrl+C stops it)", "the workshop app")


def serve_until_stopped(server: VoilaServer, banner: str, what: str) -> int:
    """Wait for ``server`` to listen, print ``banner``, and run until Voilà ends or we are told to stop.

    Shared by ``workbench app`` and ``workbench serve``: Ctrl+C and SIGTERM (a service manager's stop) take
    the same way out, so Voilà and its kernels always go with us.
    """
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        server.wait_until_listening()
        print(banner, flush=True)
        return int(server.process.wait() or 0)
    except KeyboardInterrupt:
        print(f"stopping {what} …", file=sys.stderr)
        return 0
    finally:
        server.stop()
