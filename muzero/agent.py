"""The public agent API: load a trained run and act with search from raw observations.

    agent = muzero.Agent.load("runs/tictactoe/20261122-101500")
    agent.reset()
    action = agent.act(state.observation, state.legal_action_mask)

`act` runs the search with the run's own settings (no root noise) and returns the most
visited legal action; `search` returns the search policy and the root value as well.
"""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

import envs
from muzero import checkpointing
from muzero.config import Config
from muzero.networks import make_model
from muzero.search import greedy_action, make_search_fn
from muzero.types import EnvSpec, Params


@dataclasses.dataclass(frozen=True)
class SearchResult:
    action: int  # the most visited legal action (ties broken by the search policy)
    policy: np.ndarray  # [A] search policy (visit distribution or Gumbel improved policy)
    visit_counts: np.ndarray  # [A]
    value: float  # root value after search, for the player to move


class Agent:
    """A trained MuZero agent. It knows the game's sizes, never its rules."""

    def __init__(self, config: Config, spec: EnvSpec, params: Params, seed: int = 0):
        self.config = config
        self.spec = spec
        self.params = params
        model = make_model(config.network, spec)
        self._search = jax.jit(
            make_search_fn(
                model, config, spec, evaluation=True, num_simulations=config.eval_simulations
            )
        )
        self._key = jax.random.key(seed)

    @classmethod
    def load(cls, path: str | pathlib.Path, seed: int = 0) -> Agent:
        """Load from a run directory (latest checkpoint) or one checkpoint directory."""
        from muzero.training import load_run_config

        run_dir, step = checkpointing.resolve(pathlib.Path(path))
        config = load_run_config(run_dir)
        spec = envs.make(config.env.id).spec
        model = make_model(config.network, spec)
        target = jax.eval_shape(model.init, jax.random.key(0))
        target = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), target)
        params = checkpointing.restore(run_dir, step, target, item="params")
        return cls(config, spec, params, seed)

    def reset(self) -> None:
        """Call at the start of every episode. (Board games and CartPole keep no history.)"""

    def search(self, observation, legal_action_mask=None) -> SearchResult:
        observation = np.asarray(observation)
        if observation.shape != self.spec.observation_shape:
            raise ValueError(
                f"observation has shape {observation.shape}; "
                f"{self.spec.name} expects {self.spec.observation_shape}"
            )
        if legal_action_mask is None:
            legal = np.ones(self.spec.num_actions, bool)
        else:
            legal = np.asarray(legal_action_mask, bool).reshape(-1)
            if legal.shape != (self.spec.num_actions,) or not legal.any():
                raise ValueError(
                    f"legal_action_mask must be {self.spec.num_actions} booleans "
                    "with at least one True"
                )
        self._key, key = jax.random.split(self._key)
        obs = jnp.asarray(observation.astype(self.spec.observation_dtype))[None]
        out = self._search(self.params, obs, jnp.asarray(legal)[None], key)
        visits = np.asarray(out.visit_counts[0])
        return SearchResult(
            action=int(greedy_action(out, jnp.asarray(legal)[None])[0]),
            policy=np.asarray(out.policy_target[0]),
            visit_counts=visits,
            value=float(out.root_value[0]),
        )

    def act(self, observation, legal_action_mask=None) -> int:
        """The most visited legal action after a search from `observation`."""
        return self.search(observation, legal_action_mask).action
