"""Presets: each module builds a `muzero.config.Config`. `make train ENV=<name>`."""

from __future__ import annotations

from collections.abc import Callable

from configs import cartpole, connect_four, smoke, tictactoe
from muzero.config import Config

PRESETS: dict[str, Callable[[], Config]] = {
    "tictactoe": tictactoe.config,
    "connect_four": connect_four.config,
    "cartpole": cartpole.config,
    "smoke": smoke.config,
}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown ENV {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()


__all__ = ["PRESETS", "get_preset"]
