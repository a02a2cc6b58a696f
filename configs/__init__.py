"""Presets: each module builds a `muzero.config.Config`. `make train ENV=<name>`."""

from __future__ import annotations

from collections.abc import Callable

from configs import (
    atari,
    atari100k,
    atari_smoke,
    cartpole,
    connect_four,
    go_9x9,
    minatar_breakout,
    smoke,
    tictactoe,
)
from muzero.config import Config

PRESETS: dict[str, Callable[[], Config]] = {
    "tictactoe": tictactoe.config,
    "connect_four": connect_four.config,
    "go_9x9": go_9x9.config,
    "cartpole": cartpole.config,
    "minatar_breakout": minatar_breakout.config,
    "smoke": smoke.config,
    "atari": atari.config,
    "atari100k": atari100k.config,
    "atari_smoke": atari_smoke.config,
}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown ENV {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()


__all__ = ["PRESETS", "get_preset"]
