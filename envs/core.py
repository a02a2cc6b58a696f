"""The time-step contract between environments and the MuZero loop.

The loop sees only what a `TimeStep` carries: an observation, the reward for the last action,
`terminated` / `truncated`, the legal-action mask (used at the search root only) and whose turn
it is. Nothing else about a game, in particular no rules, crosses this boundary.

Adapters are pure and unbatched: `reset(key)` and `step(state, action, key)`; the actor vmaps
them and resets finished episodes itself, so an adapter never auto-resets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from muzero.types import Array, EnvSpec, PRNGKey


class TimeStep(struct.PyTreeNode):
    """One step of any environment, unbatched (the actor adds a leading [B])."""

    observation: Array  # [*O] the environment's own observation
    reward: Array  # [] float32, for the action that led here, seen by the player who took it
    terminated: Array  # [] bool, the episode ended by the game's own end
    truncated: Array  # [] bool, the episode was cut (time limit); the state had a future
    legal_mask: Array  # [A] bool, True = legal
    to_play: Array  # [] int32, the player to move now (always 0 in single-player games)


class Env(NamedTuple):
    """An environment as three pure functions over its own state pytree."""

    spec: EnvSpec
    reset: Callable[[PRNGKey], tuple[Any, TimeStep]]
    step: Callable[[Any, Array, PRNGKey], tuple[Any, TimeStep]]


def strong_types(tree: Any) -> Any:
    """Drop weak types so `reset` and `step` outputs share one signature.

    pgx `init` returns weakly typed leaves that `step` returns strongly typed; without this a
    jitted rollout compiles twice (see ../shared/STACK_NOTES.md).
    """
    return jax.tree.map(lambda x: jax.lax.convert_element_type(x, jnp.asarray(x).dtype), tree)


def random_legal_action(key: PRNGKey, legal_mask: Array) -> Array:
    """[B, A] -> [B] int32 uniformly random legal actions: the uniform policy over what a
    time step allows (self-play openings, random play, the contract's rollouts, playouts)."""
    return jax.random.categorical(key, jnp.where(legal_mask, 0.0, -jnp.inf)).astype(jnp.int32)


def select_rows(condition: Array, a: Any, b: Any) -> Any:
    """Per-row select between two batched pytrees: row i of `a` where condition[i] ([B]
    bool), else row i of `b` (a finished episode's reset, a frozen finished game)."""

    def pick(x, y):
        return jnp.where(condition.reshape(condition.shape + (1,) * (x.ndim - 1)), x, y)

    return jax.tree.map(pick, a, b)
