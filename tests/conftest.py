from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def table3_as_printed() -> Path:
    """Paper 000's Table 3 exactly as printed: tabs, decimal commas, '-' and a repeated header."""
    return DATA / "seed000_table3_as_printed.txt"
