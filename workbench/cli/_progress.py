"""A progress bar for long commands, driven by the ``progress(stage, fraction)`` callbacks of the core."""

from __future__ import annotations

from collections.abc import Callable


def progress_bar(label: str) -> Callable[[str, float], None]:
    """A tqdm bar on stderr that ``progress(stage, fraction)`` moves and labels; it closes at fraction 1. Off when
    stderr is not a terminal (logs and pipes get the command's own lines only)."""
    import sys

    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, leave=False, disable=not sys.stderr.isatty(), bar_format="{desc} {percentage:3.0f}%|{bar}|")

    def progress(stage: str, fraction: float) -> None:
        bar.set_description_str(f"{label}: {stage}")
        bar.update(max(0, round(fraction * 100) - bar.n))
        if fraction >= 1:
            bar.close()

    return progress
