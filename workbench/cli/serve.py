"""``workbench serve``: the read-only stakeholder dashboard (``notebooks/dashboard.ipynb``) served by Voilà.

It is served exactly like ``workbench app`` (same offline template, sources stripped, no tracebacks, no
template override, no file browser: only the one notebook), with the store passed to the kernel as
``$WORKBENCH_STORE`` and opened read-only there. Bound to anything but a loopback address it requires a
token (a random one unless ``--token`` is given), printed in the URL to share.
"""

from __future__ import annotations

import argparse
import ipaddress
import secrets
import subprocess
import sys
from pathlib import Path

from . import CliError
from .app import (
    VoilaServer,
    _package_dir,
    _port_in_use,
    _stop_with_parent,
    serve_until_stopped,
    voila_command,
    voila_env,
)

__all__ = ["PSEUDONYMISE_ENV", "STORE_ENV", "dashboard_notebook", "dashboard_command", "is_loopback",
           "start_dashboard", "register"]

#: the kernel reads the store path from here (``widgets.dashboard`` → ``workbench.scenario.default_store_path``)
STORE_ENV = "WORKBENCH_STORE"
#: ``force`` makes the dashboard show aliases only, whatever a viewer sends for the switch
PSEUDONYMISE_ENV = "WORKBENCH_PSEUDONYMISE"


def dashboard_notebook() -> Path:
    """``notebooks/dashboard.ipynb`` of the project checkout."""
    return _package_dir("workbench").parent / "notebooks" / "dashboard.ipynb"


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); a token is optional only there."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything, so treat it as exposed


def dashboard_command(host: str, port: int, token: str | None = None) -> list[str]:
    """The Voilà argument list for the dashboard; ``token`` (when given) is required on every request."""
    # a preheated kernel (ready before the visit) is safe because the dashboard re-reads what is published
    # every few seconds (``Dashboard.poll``); without it every visit waits for a kernel and the imports
    cmd = voila_command(dashboard_notebook().resolve(), host, port, preheat=True)
    if token:
        cmd.append(f"--Voila.token={token}")
    return cmd


def start_dashboard(store: str | Path, host: str = "127.0.0.1", port: int = 8867, token: str | None = None,
                    pseudonymise: bool = False, stdout=None, stderr=None) -> VoilaServer:
    """Start Voilà serving the dashboard on ``store`` in a child process; return at once.

    Parameters
    ----------
    store : the scenario store file (must exist; it is only ever opened read-only).
    host, port : where to listen. A non-loopback ``host`` always gets a token.
    token : the access token; default none on loopback, a random one elsewhere.
    pseudonymise : force aliases for account and manager names (viewers cannot switch them off).
    stdout, stderr : where the server log goes (``subprocess.Popen`` semantics).

    The returned server has ``token`` and a ``url`` that includes ``?token=`` when one is required.
    """
    from ..scenario import ScenarioStore

    store = Path(store).expanduser()
    if not store.is_file():
        raise CliError(f"no scenario store at {store}; save a scenario first "
                       "('workbench run ... --save NAME --publish') or pass --store PATH")
    ScenarioStore(store, read_only=True).close()  # a broken or newer store fails here with a clear message
    nb = dashboard_notebook()
    if not nb.is_file():
        raise CliError(f"notebook not found: {nb}")
    if not 0 < int(port) < 65536:
        raise CliError(f"--port must be between 1 and 65535, got {port}")
    if _port_in_use("127.0.0.1" if host in ("0.0.0.0", "::") else host, port):
        raise CliError(f"port {port} on {host} is already in use; pass another one with --port")
    if not token and not is_loopback(host):
        token = secrets.token_urlsafe(24)
    env = voila_env(None)
    env[STORE_ENV] = str(store.resolve())
    env[PSEUDONYMISE_ENV] = "force" if pseudonymise else "off"
    # Like the workshop server: the Voilà child stops when this process dies, so no orphan keeps the port.
    proc = subprocess.Popen(dashboard_command(host, port, token), env=env, cwd=str(nb.resolve().parent),
                            stdout=stdout, stderr=stderr,
                            preexec_fn=_stop_with_parent if sys.platform.startswith("linux") else None)
    server = VoilaServer(proc, host, port)
    server.token = token  # type: ignore[attr-defined]
    if token:
        server.url += f"?token={token}"
    return server


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="serve the read-only stakeholder dashboard with Voilà",
                       description="Serve notebooks/dashboard.ipynb: published scenarios only, read-only.")
    p.add_argument("--store", default=None, metavar="PATH",
                   help="scenario store file (default: $WORKBENCH_STORE or workspace/scenarios.sqlite)")
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; any other address requires a token)")
    p.add_argument("--port", type=int, default=8867, help="TCP port (default 8867)")
    p.add_argument("--token", default=None, help="access token (default: random when not on loopback)")
    p.add_argument("--pseudonymise", action="store_true",
                   help="always show aliases instead of account and manager names")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..scenario import default_store_path

    store = Path(args.store) if args.store else default_store_path()
    server = start_dashboard(store, host=args.host, port=args.port, token=args.token,
                             pseudonymise=args.pseudonymise)
    return serve_until_stopped(server, f"Stakeholder dashboard: {server.url}  (read-only; Ctrl+C stops it)",
                               "the dashboard")
