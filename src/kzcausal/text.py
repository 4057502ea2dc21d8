"""User text in outputs: one function per format, used by every writer.

Region names, column names, model names and titles come from users' files. Every writer
passes them through the function for its format, so a name is always shown as the text it is,
never as markup: :func:`html` (report pages), :func:`markdown` (``tables/*.md``), :func:`latex`
(``tables/*.tex``) and :func:`literal_figure` (matplotlib reads ``$...$`` as mathtext; the figure's
text is drawn as written). :func:`clean` is what they all share: Unicode NFC, control characters
and lone surrogates shown as ``\\uXXXX``, line breaks as spaces, and names past 200 characters
shortened with a marked ellipsis (the full name stays in the data).
"""

from __future__ import annotations

import html as _html
import re
import unicodedata

__all__ = ["clean", "normal_name", "has_lone_surrogate", "html", "html_any", "html_block", "markdown", "latex", "literal_figure", "literal_plot", "MAX_NAME"]

#: The longest name an output shows in full.
MAX_NAME = 200

_SURROGATE = re.compile("[\ud800-\udfff]")
_BREAKS = re.compile(r"[\r\n\t\v\f\u2028\u2029\x85]+")
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
_LATEX = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
          "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}", "<": r"\textless{}",
          ">": r"\textgreater{}", "|": r"\textbar{}"}


def clean(text: object, limit: int | None = MAX_NAME) -> str:
    """``text`` as one printable line: NFC, breaks as spaces, control characters and lone surrogates as
    ``\\uXXXX``, at most ``limit`` characters (``None``: no limit) with the cut marked."""
    value = str(text)
    value = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    value = unicodedata.normalize("NFC", _BREAKS.sub(" ", value))
    value = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") and c not in "\u200d" else c
                    for c in value)
    if limit is not None and len(value) > limit:
        value = f"{value[:limit]}… [{len(value) - limit:,} more characters]"
    return value


_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def normal_name(name: str) -> str:
    """A name as one spelling: Unicode NFC, no-break and other spaces as one space, zero-width characters and
    soft hyphens removed, trimmed; the one normalizer of region, unit and column names read from files."""
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", str(name)))
    return " ".join("".join(" " if unicodedata.category(c) == "Zs" else c for c in text).split())


def has_lone_surrogate(name: str) -> bool:
    """Whether ``name`` holds a lone surrogate (text that cannot be written as UTF-8)."""
    return _SURROGATE.search(str(name)) is not None


def html(text: object, limit: int | None = MAX_NAME) -> str:
    """For HTML: :func:`clean`, then ``& < > " '`` escaped."""
    return _html.escape(clean(text, limit), quote=True)


def html_any(text: object) -> str:
    """For HTML text of any length (messages, titles): :func:`html` without the length limit."""
    return html(text, None)


def html_block(text: object) -> str:
    """For a preformatted HTML block: each line :func:`clean` (no length limit), the line breaks kept, escaped."""
    return "\n".join(_html.escape(clean(line, None), quote=False) for line in str(text).split("\n"))


def markdown(text: object, limit: int | None = MAX_NAME) -> str:
    """For Markdown (tables included): :func:`clean`, HTML escaped (Markdown passes HTML through), and
    Markdown's punctuation backslash-escaped (``|`` cannot end a cell, ``*`` cannot emphasize)."""
    return _MARKDOWN.sub(r"\\\1", _html.escape(clean(text, limit), quote=False))


def latex(text: object, limit: int | None = MAX_NAME) -> str:
    """For LaTeX: :func:`clean`, then TeX's special characters as their text commands."""
    return "".join(_LATEX.get(c, c) for c in clean(text, limit))


def literal_plot(plot):
    """Decorate a ``plot`` method: the figure it draws shows user text as written (:func:`literal_figure`)."""
    import functools

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        drawn = plot(*args, **kwargs)
        literal_figure(drawn)
        return drawn

    wrapper.__wrapped_literal__ = True
    return wrapper


def literal_figure(figure) -> None:
    """Draw every text of ``figure`` (a Figure, or anything with ``.figure``) as written: no mathtext."""
    from matplotlib.text import Text

    figure = getattr(figure, "figure", figure)
    if isinstance(figure, (list, tuple)) or hasattr(figure, "flat"):
        for item in getattr(figure, "flat", figure):
            literal_figure(item)
        return
    if figure is None or not hasattr(figure, "findobj"):
        return
    for text in figure.findobj(Text):
        text.set_parse_math(False)
        if len(text.get_text()) > MAX_NAME:
            text.set_text(clean(text.get_text()))
