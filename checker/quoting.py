"""Text that came from the learner, shown so that it cannot pass for a line of the checker's.

Anything the learner's process sends or prints (its output, exception messages, class, attribute
and file names, the name of the call it says is running) is shown with every character that is
not printable — newline, carriage return, tab, ANSI escapes, other control and format characters,
line and paragraph separators — written as Python writes it in a string literal (``\\n``,
``\\r``, ``\\x1b``, ``\\u2028``): one line, and no escape sequence reaches the terminal. The
output's tail is shown line by line after a prefix (``    | ``), so no line of it can start with
PASS or FAIL.
"""

from __future__ import annotations

#: What starts every line of the learner's output shown under a verdict.
PREFIX = "    | "


def visible(text: str) -> str:
    """``text`` on one line, each non-printable character escaped as in a string literal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def quoted(output: str, lines: int, width: int) -> list[str]:
    """The last ``lines`` lines of ``output`` (split at newlines only), each made visible, cut to
    ``width`` characters and prefixed with :data:`PREFIX`."""
    shown = output.strip("\n").split("\n")[-lines:] if output.strip() else []
    return [PREFIX + visible(line)[:width] for line in shown]
