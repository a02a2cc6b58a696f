"""gymnax environments (classic control, MinAtar, bsuite) with discrete actions."""

from __future__ import annotations

import gymnax
import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env, TimeStep, strong_types
from muzero.types import EnvSpec


def available() -> tuple[str, ...]:
    return tuple(gymnax.registered_envs)


def make_gymnax(env_id: str) -> Env:
    """Wrap gymnax `env_id`; gymnax's own auto-reset is bypassed (the actor resets)."""
    game, params = gymnax.make(env_id)
    space = game.action_space(params)
    if not hasattr(space, "n"):
        raise ValueError(f"env.id {env_id!r} has a continuous action space; MuZero needs discrete")
    num_actions = int(space.n)
    obs = jax.eval_shape(lambda k: game.reset(k, params)[0], jax.random.key(0))
    spec = EnvSpec(
        name=env_id,
        num_actions=num_actions,
        observation_shape=tuple(obs.shape),
        observation_dtype=np.dtype(obs.dtype),
        num_players=1,
    )
    legal = jnp.ones((num_actions,), bool)

    def to_timestep(observation, reward, terminated, truncated) -> TimeStep:
        return TimeStep(
            observation=observation,
            reward=jnp.asarray(reward, jnp.float32),
            terminated=jnp.asarray(terminated, bool),
            truncated=jnp.asarray(truncated, bool) & ~jnp.asarray(terminated, bool),
            legal_mask=legal,
            to_play=jnp.zeros((), jnp.int32),
        )

    def reset(key):
        observation, state = game.reset_env(key, params)
        ts = to_timestep(observation, 0.0, False, False)
        return strong_types(state), strong_types(ts)

    def step(state, action, key):
        observation, next_state, reward, terminated, _ = game.step_env(key, state, action, params)
        truncated = game.is_truncated(next_state, params)
        return next_state, to_timestep(observation, reward, terminated, truncated)

    return Env(spec=spec, reset=reset, step=step)
