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
from envs.atari import RAW_ATARI_SHAPE, preprocess_frame
from muzero.acting.histories import make_history_search
from muzero.config import Config
from muzero.model.networks import make_model
from muzero.replay.history import NO_ACTION, init_history, push
from muzero.runtime import checkpointing
from muzero.search.policy import greedy_action, make_search_fn
from muzero.types import EnvSpec, Params


@dataclasses.dataclass(frozen=True)
class SearchResult:
    action: int  # the most visited legal action (ties broken by the search policy)
    policy: np.ndarray  # [A] search policy (visit distribution or Gumbel improved policy)
    visit_counts: np.ndarray  # [A]
    value: float  # root value after search, for the player to move


class Agent:
    """A trained MuZero agent. It knows the game's sizes, never its rules.

    It keeps the frame and action history its network was trained on (`config.history`):
    `act` appends the observation and the action it returns; `reset` clears the history at
    an episode start. Atari agents take gymnasium's raw ALE frames (210x160x3 RGB) and
    preprocess them as the training environment did (area resize to 96x96, grayscale if
    trained so); gymnasium hands over only the last of the skipped frames, so the max over
    the last two frames that training saw is not available here.
    """

    def __init__(self, config: Config, spec: EnvSpec, params: Params, seed: int = 0):
        from muzero.replay.history import network_spec

        self.config = config
        self.spec = spec
        self.params = params
        net_spec = network_spec(spec, config)
        model = make_model(config.network, net_spec)
        search = make_search_fn(
            model, config, net_spec, evaluation=True, num_simulations=config.eval_simulations
        )
        search_from = make_history_search(search, config, spec)

        def search_after(params, history, frame, prev_action, start, legal, key):
            history = push(history, frame, prev_action, start)
            return history, search_from(params, history, legal, key)[1]

        self._search = jax.jit(search_after)
        self._key = jax.random.key(seed)
        self.reset()

    @classmethod
    def load(cls, path: str | pathlib.Path, seed: int = 0) -> Agent:
        """Load from a run directory (latest checkpoint) or one checkpoint directory."""
        from muzero.runtime.runs import load_run_config

        run_dir, step = checkpointing.resolve(pathlib.Path(path))
        config = load_run_config(run_dir)
        return cls(config, envs.spec(config.env), load_params(run_dir, step, config), seed)

    def reset(self) -> None:
        """Call at the start of every episode: forgets the frame and action history."""
        self._history = init_history(
            1, self.config.history.frames, self.spec.observation_shape, self.spec.observation_dtype
        )
        self._prev_action = NO_ACTION
        self._episode_start = True

    def _frame(self, observation) -> np.ndarray:
        observation = np.asarray(observation)
        if envs.is_atari(self.spec.name) and observation.shape == RAW_ATARI_SHAPE:
            env = self.config.env
            observation = preprocess_frame(observation, env.frame_size, env.grayscale)
        if observation.shape != self.spec.observation_shape:
            expected = self.spec.observation_shape
            if envs.is_atari(self.spec.name):
                expected = f"{expected} or a raw ALE frame {RAW_ATARI_SHAPE}"
            raise ValueError(
                f"observation has shape {observation.shape}; {self.spec.name} expects {expected}"
            )
        return observation.astype(self.spec.observation_dtype)

    def _legal(self, legal_action_mask) -> np.ndarray:
        if legal_action_mask is None:
            return np.ones(self.spec.num_actions, bool)
        legal = np.asarray(legal_action_mask, bool).reshape(-1)
        if legal.shape != (self.spec.num_actions,) or not legal.any():
            raise ValueError(
                f"legal_action_mask must be {self.spec.num_actions} booleans with at least one True"
            )
        return legal

    def _run_search(self, observation, legal_action_mask):
        frame = self._frame(observation)
        legal = jnp.asarray(self._legal(legal_action_mask))[None]
        self._key, key = jax.random.split(self._key)
        history, out = self._search(
            self.params,
            self._history,
            jnp.asarray(frame)[None],
            jnp.full((1,), self._prev_action, jnp.int32),
            jnp.full((1,), self._episode_start),
            legal,
            key,
        )
        result = SearchResult(
            action=int(greedy_action(out, legal)[0]),
            policy=np.asarray(out.policy_target[0]),
            visit_counts=np.asarray(out.visit_counts[0]),
            value=float(out.root_value[0]),
        )
        return history, result

    def search(self, observation, legal_action_mask=None) -> SearchResult:
        """Search from `observation` (after the history so far); the history is not advanced."""
        return self._run_search(observation, legal_action_mask)[1]

    def act(self, observation, legal_action_mask=None) -> int:
        """The most visited legal action after a search from `observation`; the observation
        and this action join the history."""
        self._history, result = self._run_search(observation, legal_action_mask)
        self._prev_action = result.action
        self._episode_start = False
        return result.action


def load_params(run_dir: pathlib.Path, step: int, config: Config) -> Params:
    """The network parameters of iteration `step` (a checkpoint or a snapshot) of a run."""
    from muzero.replay.history import network_spec

    model = make_model(config.network, network_spec(envs.spec(config.env), config))
    target = jax.eval_shape(model.init, jax.random.key(0))
    target = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), target)
    return checkpointing.restore_params(run_dir, step, target)
