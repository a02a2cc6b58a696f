"""Shared aliases and the runtime facts of an environment."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

Array = jax.Array
PRNGKey = jax.Array
Params = Any  # a flax parameter pytree


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """What the learner may know about an environment: sizes, never rules."""

    name: str
    num_actions: int
    observation_shape: tuple[int, ...]
    observation_dtype: np.dtype
    num_players: int  # 1, or 2 for two-player zero-sum games (values flip sign each ply)

    @property
    def two_player(self) -> bool:
        return self.num_players == 2
