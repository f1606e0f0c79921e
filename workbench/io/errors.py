"""The one error import raises for a file it cannot use at all (the message is one plain sentence)."""

from __future__ import annotations

from ..book import BookError

__all__ = ["ImportFileError"]


class ImportFileError(BookError):
    """A file cannot be imported at all (empty, binary, unreadable, no usable columns).

    Subclass of ``workbench.book.BookError`` and therefore of ``ValueError``; ``str(exc)`` is one plain
    sentence naming the file and what is wrong, fit to show in the UI or on the command line.
    """
