"""Your own environment in JAX: Catch as a pure reset/step pair behind the `TimeStep` contract.

    make train ENV=example_jax

A ball falls from a random column of the top row of a 10x5 grid, one row per step, while the
agent moves a paddle along the bottom row (0: left, 1: stay, 2: right). When the ball reaches
the bottom row the episode terminates with reward +1 if the paddle is under it and -1 if not.
Uniform random play returns about -0.5; catching every ball returns +1.

The recipe for any JAX environment:

1. `reset(key) -> (state, TimeStep)` and `step(state, action, key) -> (state, TimeStep)`,
   pure and unbatched (the device actor vmaps them over `actor.num_envs` and scans them
   together with the search), with `state` any pytree of arrays;
2. the same shapes and dtypes from both (strong types: `envs.core.strong_types` drops weak
   ones), `reward` 0 at reset, `terminated` / `truncated` never both, no auto-reset (the actor
   restarts finished episodes itself);
3. `envs.register(ENV_ID, make_env, host=False)` at import, and a preset (`config` below)
   added to `configs.PRESETS` so that `make train ENV=...` finds it and a run of it loads back.

`envs.contract.check_env_contract(make_catch())` checks the contract
(tests/environments/test_examples.py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

import envs
from envs.core import Env, TimeStep
from muzero.config import (
    ActorConfig,
    Config,
    EnvConfig,
    EvalConfig,
    LearnerConfig,
    NetworkConfig,
    ReplayConfig,
    RunConfig,
    SearchConfig,
    SupportConfig,
)
from muzero.types import Array, EnvSpec, PRNGKey

ENV_ID = "Catch-example"
ROWS, COLUMNS = 10, 5
NUM_ACTIONS = 3  # left, stay, right


class CatchState(struct.PyTreeNode):
    ball_row: Array  # [] int32, 0 = top
    ball_column: Array  # [] int32
    paddle: Array  # [] int32, the paddle's column on the bottom row


def _observe(state: CatchState) -> Array:
    """[ROWS, COLUMNS] float32: 1 where the ball and the paddle are."""
    grid = jnp.zeros((ROWS, COLUMNS), jnp.float32)
    return grid.at[state.ball_row, state.ball_column].set(1.0).at[ROWS - 1, state.paddle].set(1.0)


def _timestep(state: CatchState, reward: Array, terminated: Array) -> TimeStep:
    return TimeStep(
        observation=_observe(state),
        reward=jnp.asarray(reward, jnp.float32),
        terminated=jnp.asarray(terminated, bool),
        truncated=jnp.zeros((), bool),  # every episode ends by itself, after ROWS - 1 steps
        legal_mask=jnp.ones(NUM_ACTIONS, bool),  # every move is legal (the wall just stops it)
        to_play=jnp.zeros((), jnp.int32),  # single-player
    )


def reset(key: PRNGKey) -> tuple[CatchState, TimeStep]:
    state = CatchState(
        ball_row=jnp.zeros((), jnp.int32),
        ball_column=jax.random.randint(key, (), 0, COLUMNS, jnp.int32),
        paddle=jnp.full((), COLUMNS // 2, jnp.int32),
    )
    return state, _timestep(state, jnp.zeros(()), jnp.zeros((), bool))


def step(state: CatchState, action: Array, key: PRNGKey) -> tuple[CatchState, TimeStep]:
    """`action` [] int32 in 0..2; `key` unused (the ball falls straight down)."""
    del key
    paddle = jnp.clip(state.paddle + jnp.asarray(action, jnp.int32) - 1, 0, COLUMNS - 1)
    state = state.replace(ball_row=state.ball_row + 1, paddle=paddle)
    landed = state.ball_row == ROWS - 1
    reward = jnp.where(landed, jnp.where(paddle == state.ball_column, 1.0, -1.0), 0.0)
    return state, _timestep(state, reward, landed)


def make_catch() -> Env:
    spec = EnvSpec(
        name=ENV_ID,
        num_actions=NUM_ACTIONS,
        observation_shape=(ROWS, COLUMNS),
        observation_dtype=np.dtype(np.float32),
        num_players=1,
    )
    return Env(spec=spec, reset=reset, step=step)


envs.register(ENV_ID, make_catch, host=False)


def config() -> Config:
    """The `example_jax` preset: small enough to catch every ball within a minute on 2 CPU
    cores."""
    unit = SupportConfig(min_value=-1.0, max_value=1.0, num_bins=21, transform=False)
    return Config(
        preset="example_jax",
        env=EnvConfig(id=ENV_ID),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=64,
            num_layers=1,
            latent_size=32,
            value_support=unit,
            reward_support=unit,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=8, max_num_considered_actions=3),
        actor=ActorConfig(num_envs=64, unroll_length=9, action_selection="search"),
        replay=ReplayConfig(capacity=20_000, min_size=1_000),
        learner=LearnerConfig(
            batch_size=128,
            unroll_steps=5,
            td_steps=9,  # the whole episode: Monte-Carlo targets
            discount=1.0,
            warmup_steps=20,
            updates_per_iteration=8,
            value_loss_weight=1.0,
        ),
        eval=EvalConfig(num_games=100),
        run=RunConfig(time_budget_s=60.0, checkpoint_interval_s=30.0, snapshot_interval_s=0.0),
    )
