"""French number texts of the messages and screens (formats.py), by hand."""

from __future__ import annotations

import pytest

from dui_metrics.formats import fr_size

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (1, "1 octet"),
        (211, "211 octets"),
        (300_008, f"300{NNBSP}008 octets"),
        (1_048_575, f"1{NNBSP}048{NNBSP}575 octets"),  # 1 Mo - 1 octet
        (1_048_576, "1,0 Mo"),
        (1_572_864, "1,5 Mo"),  # 1.5 × 1 048 576
        (1_500 * 1_048_576, f"1{NNBSP}500,0 Mo"),
    ],
)
def test_file_sizes_read_in_octets_then_mo(size: int, text: str) -> None:
    assert fr_size(size) == text
