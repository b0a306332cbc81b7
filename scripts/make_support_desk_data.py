"""Write the Nimbus support-desk JSONL files from the generator in helpers/support_desk.py.

Run from the repository root:  python scripts/make_support_desk_data.py
The output is committed; tests/test_support_desk.py checks it still matches the generator.
"""

import sys
from pathlib import Path

# Let `python scripts/...` find the helpers package without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.data import DATA_DIR, SUPPORT_DESK_DIR, write_jsonl  # noqa: E402
from helpers.support_desk import build_dataset, build_raw_qa  # noqa: E402


def main() -> None:
    """Write train/validation/test and raw_qa JSONL files and print their sizes."""
    for split, rows in build_dataset().items():
        path = write_jsonl(rows, SUPPORT_DESK_DIR / f"{split}.jsonl")
        multi = sum(len(row["messages"]) > 3 for row in rows)
        print(f"{split:<10} {len(rows):>5} rows ({multi} multi-turn) -> {path.relative_to(DATA_DIR.parent.parent)}")
    raw = build_raw_qa()
    path = write_jsonl(raw, DATA_DIR / "raw_qa.jsonl")
    print(f"{'raw_qa':<10} {len(raw):>5} rows -> {path.relative_to(DATA_DIR.parent.parent)}")


if __name__ == "__main__":
    main()
