"""Every measured figure in README.md and docs/*.md names the command that reproduces it.

A *figure* is a number with a unit of measurement: a ratio (``0.64×``), a time (``10 µs``,
``1.6 s``), a memory size (``3.78 GiB``), an error in ulp, a percentage, a p-value, a count of
distinct values, the word "measured" with a number after it in its sentence, or any number
in a table whose header names such a measure.  The page is cut into *blocks*: paragraphs,
list items and tables.  A block with a figure must name a command in backquotes, either in the block itself or in the code block right after it
(``the command below``); a table may name it in the block that introduces it or the one right
after it (its caption).  A command is one of

* ``python -m benchmarks[.module] ...``: the module must exist, and so must each ``--option``;
* ``python -m pytest ...`` / ``pytest ...`` or a path ``tests/test_x.py[::test_name]``: the file
  and the test must exist; a bare ``test_x.py`` or ``test_name`` is looked up in ``tests/``;
* ``vscale bench ...`` / ``vscale show ...``: each ``--option`` must be one of the command line's;
* ``/usr/bin/time ...``, ``python -c ...`` or ``python tools/x.py`` (the script must exist);
* any of these after environment settings (``VSCALE_NUM_THREADS=1 vscale bench ...``).

Numbers that are definitions, not measurements (a chunk of 2¹⁶ values is 256 KiB, a design
cap of 5%, the 4 ulp the polynomials are fitted to), are listed in ``DEFINITIONS`` with the
reason; an entry that no longer excuses a figure (its phrase is gone, or its block names a
command) fails too, so the list cannot go stale.  No test here times anything: speed and
memory are measured by the commands the pages name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_NUMBER = r"(?<![\w.])\d[\d ,]*(?:\.\d+)?(?:\s?[–-]\s?\d+(?:\.\d+)?)?"
#: What makes a number a figure, by kind.
FIGURES = {
    "ratio": _NUMBER + r"\s?(?:×|x(?![a-z]))(?!\s?\d)",
    "time": _NUMBER + r"\s?(?:ns|µs|ms|s|seconds?|minutes?)(?![\w²])",
    "memory": _NUMBER + r"\s?(?:GiB|MiB|KiB|GB|MB)\b",
    "ulp": _NUMBER + r"\s?ulp",
    "percent": _NUMBER + r"\s?%",
    "p-value": r"\bp\s?[<>=]?\s?\d[\d.e-]*",
    "distinct values": _NUMBER + r"\s+distinct",
    # "measured" with a number after it in the same sentence: bare numbers such as E|w|² = 1.0181
    "measured": r"\b[Mm]easured\b(?=[^.]{0,60}\d)",
}
_FIGURE = re.compile("|".join(f"(?:{pattern})" for pattern in FIGURES.values()))
#: A table whose header names one of these holds figures even where its cells are bare numbers.
_MEASURE_HEADER = re.compile(r"\b(?:ns|µs|ulp|time|peak|distinct|error|kurtosis|KS)\b|χ²")

#: Numbers that match a figure's pattern but are definitions, sizes or thresholds, per page:
#: (page, a phrase of the block that contains the number, why it needs no command).
DEFINITIONS: list[tuple[str, str, str]] = [
    ("README.md", "Measured on a 2-core", "the machine the figures below were measured on"),
    ("numerical-guarantees.md", "measured with NumPy 2.4", "the versions the figures were measured with"),
    ("backends.md", "stay under 5% of the output", "the engine's cap on temporaries, a setting"),
    ("backends.md", "at most 6%\nof the output", "the float16 workspace's size, fixed by the chunk size"),
    ("performance.md", "(256 KiB of float32", "2¹⁶ float32 values"),
    ("performance.md", "within 5 % of the output plus 1 MiB", "the engine's cap on temporaries, a setting"),
    ("semantics.md", "accurate to 4 ulp in", "the bound the polynomials are fitted to"),
]

_CODE_SPAN = re.compile(r"``?([^`]+)``?")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass
class Block:
    page: Path
    line: int
    kind: str  # "prose", "table" or "code"
    text: str

    def commands(self) -> list[str]:
        spans = self.text.splitlines() if self.kind == "code" else _CODE_SPAN.findall(self.text)
        return [span.strip() for span in spans if _is_command(span.strip())]

    def figures(self) -> list[re.Match[str]]:
        if self.kind == "code":
            return []
        prose = _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), self.text)  # keep offsets
        found = list(_FIGURE.finditer(prose))
        if self.kind == "table" and not found and _MEASURE_HEADER.search(self.text.splitlines()[0]):
            found = list(re.finditer(r"\d+(?:\.\d+)?", self.text.split("\n", 2)[-1]))
        return found


def blocks(page: Path) -> list[Block]:
    """The page cut into paragraphs, list items, tables and code blocks, with their first line."""
    out: list[Block] = []
    lines = page.read_text().splitlines()
    current: list[str] = []
    start, kind, fence = 0, "prose", False

    def flush() -> None:
        if current:
            out.append(Block(page, start + 1, kind, "\n".join(current)))
        current.clear()

    for number, line in enumerate(lines):
        stripped = line.strip()
        if fence:
            current.append(line)
            if _FENCE.match(line):
                fence = False
                flush()
            continue
        if _FENCE.match(line):
            flush()
            start, kind, fence = number, "code", True
            current.append(line)
            continue
        line_kind = "table" if stripped.startswith("|") else "code" if line.startswith("    ") else "prose"
        if kind == "prose" and line_kind == "code" and current:
            line_kind = "prose"  # a continuation line of a list item, not an indented code block
        new_item = re.match(r"\s*(?:[*-]|\d+\.)\s", line) is not None or stripped.startswith("#")
        if not stripped or line_kind != kind or (new_item and kind == "prose"):
            flush()
            kind = line_kind
        if stripped:
            if not current:
                start = number
            current.append(line)
    flush()
    return out


def _is_command(text: str) -> bool:
    return re.match(
        r"(?:python -m (?:benchmarks|pytest)\b|pytest\b|vscale (?:bench|show)\b|/usr/bin/time |python -c |"
        r"python tools/\S+\.py|(?:tests/)?test_\w+(?:\.py(?:::\w+)?)?$|VSCALE_\w+=\S+ (?:python|vscale) )",
        text,
    ) is not None  # fmt: skip


def scan(page: Path) -> tuple[list[str], set[str]]:
    """Each figure of ``page`` whose block names no command, and the definitions that excused others."""
    found = blocks(page)
    allowed = [phrase for name, phrase, _ in DEFINITIONS if name == page.name]
    missing, used = [], set()
    for index, block in enumerate(found):
        figures = block.figures()
        if not figures:
            continue
        before = found[index - 1] if index else None
        after = found[index + 1] if index + 1 < len(found) else None
        nearby = [block, *([after] if after and after.kind == "code" else [])]
        if block.kind == "table":  # the paragraph that introduces it and its caption
            nearby += [b for b in (before, after) if b and b.kind == "prose"]
        if any(b.commands() for b in nearby):
            continue
        for figure in figures:
            excuses = [phrase for phrase in allowed if _within(block.text, phrase, figure)]
            used.update(excuses)
            if not excuses:
                missing.append(f"{page.name}:{block.line}: {figure.group(0).strip()!r} names no command")
    return missing, used


def uncovered(page: Path) -> list[str]:
    """Each figure of ``page`` whose block names no command and that is not a definition."""
    return scan(page)[0]


def _within(text: str, phrase: str, figure: re.Match[str]) -> bool:
    return any(
        at <= figure.start() and figure.end() <= at + len(phrase)
        for at in (m.start() for m in re.finditer(re.escape(phrase), text))
    )


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_figure_names_its_command(page):
    assert uncovered(page) == []


def test_every_definition_still_excuses_a_figure():
    used = {(page.name, phrase) for page in PAGES for phrase in scan(page)[1]}
    stale = [(name, phrase) for name, phrase, _ in DEFINITIONS if (name, phrase) not in used]
    assert stale == [], "DEFINITIONS lists phrases that excuse no figure (gone, or their block names a command)"


def _named_commands() -> list[tuple[str, str]]:
    return sorted({(page.name, command) for page in PAGES for block in blocks(page) for command in block.commands()})


def _options(command: str) -> list[str]:
    return re.findall(r"(?<!\S)(--[\w-]+)", command)


def _test_exists(file: str, name: str | None) -> bool:
    path = ROOT / "tests" / file
    if not path.is_file():
        return False
    return name is None or re.search(rf"^(?:async )?def {name}\(", path.read_text(), flags=re.M) is not None


@pytest.mark.parametrize(("page", "command"), _named_commands(), ids=lambda value: value)
def test_every_named_command_exists(page, command):
    command = re.sub(r"^(?:[A-Z_]+=\S+ )+", "", command)  # environment settings before the command
    if match := re.match(r"python -m benchmarks(?:\.(\w+))?", command):
        module = ROOT / "benchmarks" / f"{match.group(1) or '__main__'}.py"
        assert module.is_file(), f"{page}: {command}: no {module.relative_to(ROOT)}"
        source = module.read_text() + "".join(p.read_text() for p in (ROOT / "benchmarks" / "harness").glob("*.py"))
        for option in _options(command):
            assert f'"{option}"' in source, f"{page}: {command}: {module.name} has no {option}"
    elif match := re.match(r"vscale (bench|show)", command):
        source = "".join(p.read_text() for p in (ROOT / "vscale" / "cli").glob("*.py"))
        for option in _options(command):
            assert f'"{option}"' in source, f"{page}: {command}: the command line has no {option}"
    elif match := re.match(r"python tools/(\S+\.py)", command):
        assert (ROOT / "tools" / match.group(1)).is_file(), f"{page}: {command}"
    for path, name in re.findall(r"(?:^|\s)(?:tests/)?(test_\w+\.py)(?:::(\w+))?", command):
        assert _test_exists(path, name or None), f"{page}: {command}: no such test"
    if re.fullmatch(r"test_\w+", command):
        defined = any(_test_exists(p.name, command) for p in (ROOT / "tests").glob("test_*.py"))
        assert defined, f"{page}: no test named {command}"


def test_the_checker_flags_a_figure_without_a_command(tmp_path):
    page = tmp_path / "invented.md"
    page.write_text(
        "# Speed\n\nvscale is 0.42× the time of NumPy and uses 1.01 GiB.\n\n"
        "The same within 3 ulp (`python -m pytest tests/test_erfinv.py`).\n\n"
        "## Calls\n\n| n | time |\n|---|---|\n| 10 | 7 |\n\n"
        "- a list item: 12 µs a call\n"
        "- its neighbour names `python -m benchmarks.kernels`: 0.9×\n"
    )
    assert uncovered(page) == [
        "invented.md:3: '0.42×' names no command",
        "invented.md:3: '1.01 GiB' names no command",
        "invented.md:9: '10' names no command",
        "invented.md:9: '7' names no command",
        "invented.md:13: '12 µs' names no command",
    ]


def test_the_checker_finds_a_command_that_does_not_exist():
    assert not _test_exists("test_claims.py", "test_that_was_never_written")
    assert _test_exists("test_claims.py", "test_the_checker_flags_a_figure_without_a_command")
