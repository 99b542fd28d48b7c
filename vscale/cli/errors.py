"""The ``vscale`` command's one error style: every bad input ends the same way.

Whatever refuses an input (argparse, a range check of the command's own, or the library's
``ValueError``/``TypeError`` for an identifier, a shape, a dtype, a device or a seed),
stderr gets exactly two lines, the command's usage on one line and the reason, and the
exit status is 2 (argparse's convention)::

    usage: vscale show IDENTIFIER --shape N [N ...] [options]
    vscale: error: argument --backend: invalid choice 'jxa'; did you mean 'jax'? (choose from ...)

A misspelt choice gets the closest allowed spelling (``difflib``), a number out of range
names the range it must lie in.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

EXIT_USAGE = 2
#: A message longer than this is cut: one line must stay readable in a terminal.
MAX_MESSAGE = 300


class UsageError(Exception):
    """An input the command cannot use; reported by :func:`report` with the usage of ``parser``.

    ``parser`` is the (sub)command whose usage line goes with the message; None means the
    command that was running.
    """

    def __init__(self, message: str, parser: argparse.ArgumentParser | None = None) -> None:
        super().__init__(message)
        self.parser = parser


def writable(option: str, path: str) -> None:
    """A :class:`UsageError` unless ``option`` can write a file at ``path``: checked before the work."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"argument {option}: {path!r} is a directory; expected a file to write")
    if not os.path.isdir(folder):
        problem = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise UsageError(f"argument {option}: the folder {folder!r} {problem}; received {path!r}")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"argument {option}: {path!r} cannot be written here (permission denied)")


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``choices`` to ``value``, else ``""``."""
    names = [str(choice) for choice in choices]
    close = difflib.get_close_matches(str(value), names, n=1)
    if not close:  # case slips ("JAX") are not close by difflib's measure
        close = [name for name in names if name.lower() == str(value).lower()][:1]
    return f"; did you mean {close[0]!r}?" if close else ""


def invalid_choice(value: object, choices: Iterable[object]) -> str:
    """The message for a value that is none of ``choices``, with the closest one."""
    choices = list(choices)
    return f"invalid choice {value!r}{did_you_mean(value, choices)} (choose from {', '.join(map(str, choices))})"


def integer(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: a whole number from ``low`` to ``high`` (inclusive; None: no bound)."""
    allowed = f"a whole number from {low:,} to {high:,}" if high is not None else f"a whole number >= {low:,}"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {allowed}; received {clip(text)}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {allowed}; received {value:,}")
        return value

    convert.__name__ = "integer"  # argparse names the type in some messages
    return convert


class Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as :class:`UsageError` and 'did you mean' for choices."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        # argparse's own check, for options and command names alike, with a suggestion added.
        if action.choices is not None and value not in action.choices:
            raise argparse.ArgumentError(action, invalid_choice(value, action.choices))


def one_line(error: BaseException) -> str:
    """The first line of an error's message (its type's name when empty), cut to :data:`MAX_MESSAGE`."""
    text = str(error).strip()
    message = text.splitlines()[0] if text else type(error).__name__
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def report(parser: argparse.ArgumentParser, message: str) -> int:
    """Print the usage line of ``parser`` and ``vscale: error: message`` to stderr; return 2."""
    sys.stderr.write(parser.format_usage())
    sys.stderr.write(f"vscale: error: {message}\n")
    return EXIT_USAGE


def clip(text: str, limit: int = 80) -> str:
    """``repr(text)``, shortened for one-line messages."""
    return repr(text) if len(text) <= limit else repr(text[: limit - 3] + "...")
