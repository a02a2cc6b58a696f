"""Any gymnasium environment as a host environment: a batch of copies stepped on the CPU.

`HostEnv` turns a gymnasium vector environment into batched `TimeStep`s for the host actor
(`muzero.acting.host_actor`): `reset()`, then `send(actions)` / `recv()` (or `step`). Atari
(`envs.atari`) is the same adapter around ale-py's vector environment; `make_gymnasium`
puts it around E copies of a user's `gymnasium.Env` (`envs.register(..., host=True)`).

What the loop needs from the gymnasium environment:

- a `Discrete(n)` action space (MuZero searches over a finite set of actions);
- observations as arrays: a `Box` is used as it is (uint8 kept, every other dtype as float32,
  since JAX computes in 32 bits); any other space (Discrete, Tuple, Dict, ...) is flattened
  by `gymnasium.wrappers.FlattenObservation` (a Discrete state becomes a one-hot vector;
  `muzero.Agent` then takes the flattened observation, as the loop saw it);
- legal actions are optional: `info["action_mask"]` ([n], nonzero = legal) where the
  environment gives one (gymnasium's Taxi does), every action legal otherwise;
- `terminated` for the game's own end and `truncated` for a cut (e.g. `TimeLimit`): both
  reach the loop apart; every episode must end one way or the other (evaluation plays whole
  episodes).

Finished episodes restart in the same step (gymnasium's same-step autoreset): the returned
observation and legal mask are the new episode's while reward and flags belong to the
finished one, which is what the device actor does for JAX environments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium
import numpy as np

from envs.core import TimeStep
from muzero.types import EnvSpec


class HostEnv:
    """A batch of `num_envs` environments behind a gymnasium vector env with same-step
    autoreset. All arrays are numpy, batched [E].

    `observation` maps the vector env's observations to the spec's [E, *O] (Atari drops the
    frame-stack axis). Vector envs with `send` / `recv` (ale-py's) step while the caller
    searches; for the others, `recv` steps with the actions `send` left.
    """

    def __init__(
        self,
        vec: Any,
        spec: EnvSpec,
        seed: int,
        observation: Callable[[np.ndarray], np.ndarray] | None = None,
    ):
        self._vec = vec
        self.spec = spec
        self.num_envs = int(vec.num_envs)
        self._seed = seed
        self._observation = observation or (lambda obs: obs)
        self._asynchronous = hasattr(vec, "send") and hasattr(vec, "recv")
        self._pending: np.ndarray | None = None
        self._action_start = int(getattr(vec.single_action_space, "start", 0))
        self._all_legal = np.ones((self.num_envs, spec.num_actions), bool)

    def _legal_mask(self, info: dict) -> np.ndarray:
        """[E, A] bool from `info["action_mask"]`; rows without a mask are all legal."""
        if "action_mask" not in info:
            return self._all_legal
        mask = np.asarray(info["action_mask"]).astype(bool)
        given = np.asarray(info.get("_action_mask", np.ones(self.num_envs, bool)), bool)
        return np.where(given[:, None], mask, True)

    def _timestep(self, obs, reward, terminated, truncated, info: dict) -> TimeStep:
        observation = self._observation(np.asarray(obs))
        terminated = np.asarray(terminated, bool)
        return TimeStep(
            observation=observation.astype(self.spec.observation_dtype, copy=False),
            reward=np.asarray(reward, np.float32),
            terminated=terminated,
            truncated=np.asarray(truncated, bool) & ~terminated,
            legal_mask=self._legal_mask(info),
            to_play=np.zeros(self.num_envs, np.int32),
        )

    def reset(self) -> TimeStep:
        obs, info = self._vec.reset(seed=self._seed)
        zeros = np.zeros(self.num_envs, bool)
        return self._timestep(obs, np.zeros(self.num_envs), zeros, zeros, info)

    def send(self, actions: np.ndarray) -> None:
        """Start a step with `actions` [E] (action indices 0..A-1)."""
        actions = np.asarray(actions, np.int32) + self._action_start
        if self._asynchronous:
            self._vec.send(actions)
        else:
            self._pending = actions

    def recv(self) -> TimeStep:
        """The time steps of the actions last sent."""
        if self._asynchronous:
            return self._timestep(*self._vec.recv())
        actions, self._pending = self._pending, None
        if actions is None:
            raise RuntimeError("recv() without send(actions)")
        return self._timestep(*self._vec.step(actions))

    def step(self, actions: np.ndarray) -> TimeStep:
        self.send(actions)
        return self.recv()

    def close(self) -> None:
        self._vec.close()


EnvFactory = Callable[[], gymnasium.Env]


def _as_arrays(env: gymnasium.Env) -> gymnasium.Env:
    """Flatten any observation space but a Box (Discrete becomes one-hot)."""
    if isinstance(env.observation_space, gymnasium.spaces.Box):
        return env
    return gymnasium.wrappers.FlattenObservation(env)


def _observation_dtype(space: gymnasium.spaces.Box) -> np.dtype:
    # Pixels stay uint8 (the replay stores them compactly); JAX computes everything else in
    # float32 (64-bit types are off by default).
    return np.dtype(np.uint8) if space.dtype == np.uint8 else np.dtype(np.float32)


def check_spaces(env_id: str, env: gymnasium.Env) -> None:
    """ValueError unless the action space is Discrete (MuZero needs a finite action set)."""
    space = env.action_space
    if not isinstance(space, gymnasium.spaces.Discrete):
        raise ValueError(
            f"env.id {env_id!r} has the action space {space}; MuZero needs a "
            "gymnasium.spaces.Discrete action space (discretize it with an ActionWrapper)"
        )


def gymnasium_spec(env_id: str, make_one: EnvFactory) -> EnvSpec:
    """The spec of a registered gymnasium environment, from one copy (then closed)."""
    env = _as_arrays(make_one())
    try:
        check_spaces(env_id, env)
        space = env.observation_space
        return EnvSpec(
            name=env_id,
            num_actions=int(env.action_space.n),
            observation_shape=tuple(space.shape),
            observation_dtype=_observation_dtype(space),
            num_players=1,
        )
    finally:
        env.close()


def make_gymnasium(env_id: str, make_one: EnvFactory, num_envs: int, seed: int) -> HostEnv:
    """`num_envs` copies of `make_one()` stepped one after the other on the host; copy i is
    seeded `seed + i` at reset."""
    spec = gymnasium_spec(env_id, make_one)
    vec = gymnasium.vector.SyncVectorEnv(
        [lambda: _as_arrays(make_one())] * num_envs,
        autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP,
    )
    return HostEnv(vec, spec, seed)
