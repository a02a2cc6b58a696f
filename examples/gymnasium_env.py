"""Your own gymnasium environment, stepped on the host: a corridor with a legal-action mask.

    make train ENV=example_gymnasium

The agent starts in a random cell of a corridor of 10 cells and walks left or right; reaching
the right end terminates the episode with reward +1, every other step costs 0.05, and
`gymnasium.wrappers.TimeLimit` truncates the episode after 30 steps. Walking into the left
wall is illegal: `info["action_mask"]` says so, and the search never picks it at the root.
Uniform random play returns about -0.6; walking straight right about +0.8.

The recipe for any gymnasium environment (`envs.gymnasium_env` has the details):

1. a `gymnasium.Env` with a `Discrete` action space and array observations (a `Box`; other
   spaces are flattened, Discrete to one-hot); `info["action_mask"]` if some actions are
   illegal (optional: without it every action is legal); `terminated` / `truncated` as
   gymnasium defines them, and every episode ending one way or the other;
2. `envs.register(ENV_ID, make_env, host=True)` at import, `make_env` building one copy: the
   host actor steps `actor.num_envs` copies on the CPU while the device searches;
3. a preset (`config` below) added to `configs.PRESETS`, so that `make train ENV=...` finds
   it and a run of it loads back (`make eval RUN=...`, `muzero.Agent.load`).

A registered gymnasium id from gymnasium's own registry works the same way, e.g.
`envs.register("CartPole-gym", lambda: gymnasium.make("CartPole-v1"), host=True)`.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

import envs
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

ENV_ID = "Corridor-example"
LENGTH = 10
MAX_STEPS = 30
STEP_COST = 0.05
LEFT, RIGHT = 0, 1


class Corridor(gymnasium.Env):
    """Walk to the right end. Observation: the agent's cell, one-hot [LENGTH] float32."""

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Box(0.0, 1.0, (LENGTH,), np.float32)
        self.action_space = gymnasium.spaces.Discrete(2)  # LEFT, RIGHT
        self.position = 0

    def _observation(self) -> np.ndarray:
        return np.eye(LENGTH, dtype=np.float32)[self.position]

    def _info(self) -> dict[str, Any]:
        return {"action_mask": np.array([self.position > 0, True], np.int8)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position = int(self.np_random.integers(0, LENGTH - 1))
        return self._observation(), self._info()

    def step(self, action):
        if action == LEFT and self.position == 0:
            raise ValueError("moved into the wall: the action mask forbids it")
        self.position += 1 if action == RIGHT else -1
        arrived = self.position == LENGTH - 1
        reward = 1.0 if arrived else -STEP_COST
        return self._observation(), reward, arrived, False, self._info()


def make_corridor() -> gymnasium.Env:
    return gymnasium.wrappers.TimeLimit(Corridor(), max_episode_steps=MAX_STEPS)


envs.register(ENV_ID, make_corridor, host=True)


def config() -> Config:
    """The `example_gymnasium` preset: small enough to learn the walk in under a minute on
    2 CPU cores."""
    support = SupportConfig(min_value=-2.0, max_value=2.0, num_bins=21, transform=False)
    return Config(
        preset="example_gymnasium",
        env=EnvConfig(id=ENV_ID),
        network=NetworkConfig(
            torso="mlp",
            hidden_size=64,
            num_layers=1,
            latent_size=32,
            value_support=support,
            reward_support=support,
        ),
        search=SearchConfig(algorithm="gumbel", num_simulations=8, max_num_considered_actions=2),
        actor=ActorConfig(num_envs=32, unroll_length=10, action_selection="search"),
        replay=ReplayConfig(capacity=20_000, min_size=640),
        learner=LearnerConfig(
            batch_size=128,
            unroll_steps=5,
            td_steps=10,
            discount=0.97,
            warmup_steps=20,
            updates_per_iteration=8,
            value_loss_weight=1.0,
        ),
        eval=EvalConfig(num_games=100),
        run=RunConfig(time_budget_s=45.0, checkpoint_interval_s=30.0, snapshot_interval_s=0.0),
    )
