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
    minatar200k,
    minatar_breakout,
    smoke,
    tictactoe,
)
from muzero.config import Config


def example_jax() -> Config:
    """examples/jax_env.py: Catch, an environment written in JAX."""
    # Imported when the preset is asked for, not with `configs`: the example registers its
    # environment with `envs` (slow to import), which no other preset needs.
    from examples import jax_env

    return jax_env.config()


def example_gymnasium() -> Config:
    """examples/gymnasium_env.py: a corridor, a gymnasium environment stepped on the host."""
    from examples import gymnasium_env

    return gymnasium_env.config()


PRESETS: dict[str, Callable[[], Config]] = {
    "tictactoe": tictactoe.config,
    "connect_four": connect_four.config,
    "go_9x9": go_9x9.config,
    "cartpole": cartpole.config,
    "minatar_breakout": minatar_breakout.config,
    "minatar200k": minatar200k.config,
    "smoke": smoke.config,
    "atari": atari.config,
    "atari100k": atari100k.config,
    "atari_smoke": atari_smoke.config,
    "example_jax": example_jax,
    "example_gymnasium": example_gymnasium,
}


def get_preset(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown ENV {name!r}; presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]()


__all__ = ["PRESETS", "get_preset"]
