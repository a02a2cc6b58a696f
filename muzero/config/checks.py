"""Validation helpers: every failure names the field and the value."""

from __future__ import annotations


def check(condition: bool, field: str, message: str, value: object) -> None:
    if not condition:
        raise ValueError(f"{field} {message}, got {value!r}")


def at_least(config: object, section: str, minimum: int, *names: str) -> None:
    """Each named field of `config` must be >= minimum."""
    for name in names:
        value = getattr(config, name)
        check(value >= minimum, f"{section}.{name}", f"must be >= {minimum}", value)
