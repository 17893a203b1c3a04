"""Write the receipt vectors (docs/intake.md, "Receipts and their check group"): one file
per case, `key: value` lines. Run once from the repository root; the files are committed:

    .venv/bin/python tests/vectors/receipts/generate.py
"""

from __future__ import annotations

from pathlib import Path

from crypto.receipt_check import with_check

HERE = Path(__file__).parent
RANDOM = "48210937551266047310"
CHECKED = with_check(RANDOM)  # 482109375512660473103637


def grouped(digits: str) -> str:
    """Digits in groups of four, as a receipt is shown."""
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def wrong_digit(digits: str, position: int) -> str:
    """The same digits with one of them changed."""
    return digits[:position] + str((int(digits[position]) + 1) % 10) + digits[position + 1 :]


def swapped(digits: str, position: int) -> str:
    """The same digits with two neighbours swapped."""
    return digits[:position] + digits[position + 1] + digits[position] + digits[position + 2 :]


CASES = {
    "checked": ("a new receipt with its check group", grouped(CHECKED), "success", CHECKED),
    "checked_full_width": (
        "typed with a Chinese IME: full-width digits and ideographic spaces",
        grouped(CHECKED).translate({**{48 + d: 0xFF10 + d for d in range(10)}, 32: 0x3000}),
        "success",
        CHECKED,
    ),
    "older_unchecked": (
        "a receipt given before the check: 20 digits",
        grouped(RANDOM),
        "success",
        RANDOM,
    ),
    "wrong_digit_random_part": (
        "one digit of the 20 wrong",
        grouped(wrong_digit(CHECKED, 5)),
        "typing mistake",
        "",
    ),
    "wrong_digit_check_group": (
        "one digit of the check group wrong",
        grouped(wrong_digit(CHECKED, 22)),
        "typing mistake",
        "",
    ),
    "swapped_neighbours": (
        "two neighbouring digits swapped",
        grouped(swapped(CHECKED, 9)),
        "typing mistake",
        "",
    ),
    "swapped_across_groups": (
        "the last digit of a group swapped with the next one's first",
        grouped(swapped(CHECKED, 19)),
        "typing mistake",
        "",
    ),
    "too_short": ("a digit missing", grouped(CHECKED[:-1]), "malformed", ""),
    "too_long": ("a digit too many", grouped(CHECKED + "1"), "malformed", ""),
}


def main() -> None:
    """Write every case, one file each."""
    for name, (comment, typed, expect, digits) in CASES.items():
        lines = [f"comment: {comment}", f"typed: {typed}", f"expect: {expect}"]
        if digits:
            lines.append(f"digits: {digits}")
        (HERE / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
