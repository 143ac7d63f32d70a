"""Input errors: problems in the user's data, reported all at once in a few readable lines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

N_EXAMPLES = 3


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one column of one file: how many rows, and a few example values."""

    file: str
    column: str | None
    message: str
    n_rows: int | None = None
    examples: tuple[str, ...] = ()

    def render(self) -> str:
        where = self.file if self.column is None else f"{self.file}, column '{self.column}'"
        count = "" if self.n_rows is None else f" ({self.n_rows} row{'s' if self.n_rows != 1 else ''})"
        examples = f"; e.g. {', '.join(self.examples)}" if self.examples else ""
        return f"{where}: {self.message}{count}{examples}"


class InputError(Exception):
    """The input cannot be used as it is; the message names file, column, row count and examples."""

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="input", column=None, message=problems)]
        self.problems = tuple(problems)
        super().__init__(render_problems(self.problems))


def render_problems(problems: Sequence[Problem]) -> str:
    if len(problems) == 1:
        return problems[0].render()
    lines = [f"{len(problems)} problems in the input data:"]
    lines += [f"  - {p.render()}" for p in problems]
    return "\n".join(lines)


def format_examples(values: Iterable[object], limit: int = N_EXAMPLES) -> tuple[str, ...]:
    """Quote a few distinct example values, in first-seen order, for a message."""
    seen: list[str] = []
    for value in values:
        missing = value is None or (not isinstance(value, str) and bool(pd.isna(value)))
        text = "<missing>" if missing else repr(value)
        if text not in seen:
            seen.append(text)
        if len(seen) == limit:
            break
    return tuple(seen)


def raise_if_any(problems: Sequence[Problem]) -> None:
    if problems:
        raise InputError(problems)
