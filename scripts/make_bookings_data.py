"""Write the restaurant-booking JSONL files from the generator in helpers/bookings.py.

Run from the repository root:  python scripts/make_bookings_data.py
The output is committed; tests/test_bookings.py checks it still matches the generator.
"""

import sys
from pathlib import Path

# Let `python scripts/...` find the helpers package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.bookings import build_dataset  # noqa: E402
from helpers.data import BOOKINGS_DIR, DATA_DIR, write_jsonl  # noqa: E402


def main() -> None:
    """Write train/validation/test JSONL files and print their sizes."""
    for split, rows in build_dataset().items():
        path = write_jsonl(rows, BOOKINGS_DIR / f"{split}.jsonl")
        templates = len({row["template"] for row in rows})
        print(f"{split:<10} {len(rows):>5} rows ({templates} templates) -> {path.relative_to(DATA_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
