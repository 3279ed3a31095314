"""Errors are data about the input: where (file, line, column) and what was expected."""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LISTED = 20

# What an input file may hold that a message must never repeat (domain.md §7): an e-mail
# address, a French phone number, a NIR (13 digits, or 15 with its key; 2A/2B for Corsica; groups separated by
# spaces, dots or dashes). Message texts quote cells and headers; these are masked there.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NIR = re.compile(
    r"(?<![\w])[1-478](?:[ .-]*\d){4}[ .-]*(?:\d[ .-]*\d|2[ .-]*[ABab])(?:[ .-]*\d){6}"
    r"(?:(?:[ .-]*\d){2})?(?![\w])"
)
_PHONE = re.compile(r"(?<![\w+])(?:\+33[ .-]?|0)[1-9](?:[ .-]?\d{2}){4}(?![\w])")
# Bidirectional controls (they reorder what follows: a FINESS read backwards) and other
# control characters (a line break would split a message).
_CONTROLS = re.compile(r"[\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069]|[\x00-\x1f\x7f]")


def masked(text: str) -> str:
    """``text`` safe to show or log: e-mail addresses, phone and NIR-like numbers replaced by what
    they look like, bidirectional and other control characters removed (line breaks and
    tabs become a space)."""
    text = _CONTROLS.sub(lambda m: " " if m.group() in "\n\r\t" else "", text)
    text = _EMAIL.sub("(valeur masquée : adresse e-mail)", text)
    text = _NIR.sub("(valeur masquée : ressemble à un NIR)", text)
    return _PHONE.sub("(valeur masquée : numéro de téléphone)", text)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or worth a warning) in an input file.

    ``line`` counts physical lines as a spreadsheet shows them: the header is ``ligne 1``.
    """

    file: str
    line: int | None
    column: str | None
    message: str

    def __post_init__(self) -> None:
        # Every message quotes cells or headers of the file: never a personal value in it.
        object.__setattr__(self, "message", masked(self.message))
        if self.column is not None:
            object.__setattr__(self, "column", masked(self.column))

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
