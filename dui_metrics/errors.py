"""Errors are data about the input: where (file, line, column) and what was expected."""

from __future__ import annotations

from dataclasses import dataclass

from dui_metrics.text import mask_personal

MAX_LISTED = 20


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in an input file.

    ``line`` counts physical lines as a spreadsheet shows them: the header is ``ligne 1``, or
    the line below a title (`ingest.header`).
    """

    file: str
    line: int | None
    column: str | None
    message: str

    def __post_init__(self) -> None:
        # Every message quotes cells or headers of the file: never a personal value in it.
        # (`text.mask_personal`: e-mails, NIR-like and phone numbers, control characters)
        object.__setattr__(self, "message", mask_personal(self.message))
        if self.column is not None:
            object.__setattr__(self, "column", mask_personal(self.column))

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", ligne {self.line}"
        if self.column is not None:
            where += f", colonne {self.column}"
        return f"{where} : {self.message}"


class ExportError(ValueError):
    """A file was rejected whole; ``problems`` lists every reason found, sorted by line."""

    def __init__(self, problems: list[Problem], total: int | None = None, kind: str = "") -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.column or "", p.message))
        self.total = max(total or 0, len(self.problems))
        self.kind = kind  # the kind of file, when known (ingest.columns): shown beside it
        super().__init__(self.summary())

    @property
    def file(self) -> str:
        return self.problems[0].file if self.problems else ""

    def summary(self, limit: int = MAX_LISTED) -> str:
        total = self.total
        head = f"{self.file} : fichier refusé, {total} problème{'s' if total > 1 else ''}"
        if total > min(limit, len(self.problems)):
            head += f" (les {min(limit, len(self.problems))} premiers ci-dessous)"
        lines = [head] + [f"  {p}" for p in self.problems[:limit]]
        return "\n".join(lines)


class UsageError(ValueError):
    """The command itself is wrong (missing path, bad option value): exit code 2."""
