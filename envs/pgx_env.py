"""pgx board games (and pgx MinAtar) behind the time-step contract."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pgx

from envs.core import Env, TimeStep, strong_types
from muzero.types import EnvSpec


def available() -> tuple[str, ...]:
    return tuple(pgx.available_envs())


def make_pgx(env_id: str) -> Env:
    """Wrap pgx game `env_id`. Rewards are seen by the player who moved (pgx gives all players')."""
    game = pgx.make(env_id)
    if game.num_players > 2:
        # Values flip sign between plies (discount -gamma): a two-player zero-sum assumption.
        raise ValueError(
            f"env.id {env_id!r} has {game.num_players} players; only one- and two-player "
            "(zero-sum) games are supported"
        )
    # Shapes and dtypes come from one traced init, never from game-specific tables.
    probe = jax.eval_shape(game.init, jax.random.key(0))
    spec = EnvSpec(
        name=env_id,
        num_actions=int(game.num_actions),
        observation_shape=tuple(probe.observation.shape),
        observation_dtype=np.dtype(probe.observation.dtype),
        num_players=int(game.num_players),
    )

    def to_timestep(state, reward) -> TimeStep:
        return TimeStep(
            observation=state.observation,
            reward=jnp.asarray(reward, jnp.float32),
            terminated=jnp.asarray(state.terminated, bool),
            truncated=jnp.asarray(state.truncated, bool),
            legal_mask=jnp.asarray(state.legal_action_mask, bool),
            to_play=jnp.asarray(state.current_player, jnp.int32),
        )

    def reset(key):
        state = strong_types(game.init(key))
        return state, strong_types(to_timestep(state, 0.0))

    def step(state, action, key):
        mover = state.current_player
        next_state = game.step(state, action, key)
        # pgx hands every player its reward; the contract keeps the mover's, which is what the
        # search backs up through discount -gamma in two-player games.
        reward = next_state.rewards[mover]
        return next_state, to_timestep(next_state, reward)

    return Env(spec=spec, reset=reset, step=step)
