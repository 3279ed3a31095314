"""Shared by bench/elements.py and bench/comparaison_parts.py: first visits to several
servers, alternated, and their medians against a baseline. Not a bench itself."""

from __future__ import annotations

import statistics

import e2e_support as e2e


def alternate(browser, urls: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Seconds of each round's first visit to each of ``urls`` (name → address), every visit
    in a new browser context (an empty cache), the order reversed every other round."""
    times: dict[str, list[float]] = {name: [] for name in urls}
    names = list(urls)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            context = e2e.new_context(browser)
            times[name].append(e2e.open_and_wait(context.new_page(), urls[name], timeout_s=300))
            context.close()
    return times


def report(title: str, times: dict[str, list[float]], base: str, against: str) -> None:
    """Each name's median and its difference to ``base``'s median, then the samples."""
    reference = statistics.median(times[base])
    width = max(len(name) for name in times)
    print(title)
    for name, values in times.items():
        med = statistics.median(values)
        runs = " ".join(f"{v:.2f}" for v in values)
        print(f"  {name:{width}s} {med:5.2f} s  ({med - reference:+.2f} {against})  [{runs}]")
