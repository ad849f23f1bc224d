"""Small helpers for sentences shown to the admin."""

from __future__ import annotations


def counted(number: int, singular: str, plural: str | None = None) -> str:
    """'1 address', '2 addresses', '1 employee', '3 employees'."""
    if number == 1:
        return f"1 {singular}"
    if plural is None:
        plural = singular + ("es" if singular.endswith(("s", "x", "ch", "sh")) else "s")
    return f"{number} {plural}"
