"""Helpers shared by the widget tests (no browser): find a control the way the browser tests do."""


def find_widget(widget, cls, text):
    """The first descendant of class ``cls`` whose description contains ``text`` (as the browser test looks)."""
    stack = [widget]
    while stack:
        x = stack.pop(0)
        if isinstance(x, cls) and text in (getattr(x, "description", "") or ""):
            return x
        stack.extend(getattr(x, "children", ()))
    raise AssertionError(f"no {cls.__name__} with {text!r}")
