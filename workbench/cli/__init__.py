"""The ``workbench`` command line: one sub-command per module in this package.

Each module here defines ``register(subparsers)`` which adds its sub-command and sets ``func``; a new
command is a new module, so steps of the flow add theirs without touching this file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

__all__ = ["main", "build_parser", "CliError", "DEBUG_ENV"]

#: set to 1 to see the traceback of an unexpected error (as ``workbench --debug``)
DEBUG_ENV = "WORKBENCH_DEBUG"


class CliError(Exception):
    """An error whose message is shown to the user as one line (no traceback)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workbench",
                                     description="Restructure Workbench: account restructuring from CRM exports.")
    parser.add_argument("--debug", action="store_true",
                        help=f"show the Python traceback of an unexpected error (or set {DEBUG_ENV}=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.filename and exc.strerror:  # not "[Errno 2] No such file or directory: 'x'"
        return f"{exc.filename}: {exc.strerror}"
    return str(exc)


def _log_traceback(exc: BaseException) -> str | None:
    """Write the traceback of an unexpected error to a file in the temp folder; its path, or None."""
    import tempfile
    import traceback

    try:
        fd, path = tempfile.mkstemp(prefix="workbench-error-", suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return None


def _quiet_stdout() -> None:
    """stdout's reader went away (``workbench … | head``): send what is left to /dev/null so that Python's
    flush at exit raises nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_ENV, "").strip() not in ("", "0")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        _quiet_stdout()
        return 141 if os.name == "posix" else 1  # as a shell reports a command stopped by SIGPIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (CliError, ValueError, OSError, KeyError) as exc:
        if debug:
            raise
        print(f"workbench {args.command}: error: {_message(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user: one sentence and where it is
        if debug:
            raise
        log = _log_traceback(exc)
        where = f"; the traceback is in {log}" if log else ""
        print(f"workbench {args.command}: error: unexpected {type(exc).__name__}: {_message(exc)}{where} "
              f"(re-run with 'workbench --debug {args.command} …' or {DEBUG_ENV}=1 to see it)", file=sys.stderr)
        return 1
