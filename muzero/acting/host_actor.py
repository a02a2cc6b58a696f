"""Self-play with environments stepped on the host (Atari through ale-py).

The E environments are split into two groups that take turns: while the device searches for
one group, the other group's emulators run in ale-py's C++ threads (`send` returns at once,
`recv` waits). Each turn is one jitted call, `policy_step`: push the newest frame into the
group's history (on the device) and search from it. The T steps of a call are gathered into
the same `Trajectory` [T, E] chunk the device actor produces, so replay and update are the
core's.

Emulator states are not part of a checkpoint (ale-py's vector env cannot hand them out): a
resumed run starts fresh episodes and `mark_interrupted` ends every replay column's last
episode as truncated, so no target or history spans the interruption.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import envs
from envs.core import TimeStep
from muzero.acting.device_actor import ActStats, choose_action
from muzero.acting.histories import make_history_search
from muzero.config import Config
from muzero.replay.buffer import ReplayState, Trajectory
from muzero.replay.history import NO_ACTION, History, init_history, push
from muzero.search.policy import SearchFn, SearchOutput
from muzero.types import Array, EnvSpec, Params, PRNGKey

PolicyStep = Callable[..., tuple[History, Array, SearchOutput]]


def make_policy_step(search: SearchFn, config: Config, spec: EnvSpec):
    """Returns step(params, key, *, history, frame, prev_action, episode_start, legal_mask,
    episode_step) -> (history, action, search output), for the caller to jit; actions as in
    `choose_action`."""
    search_from = make_history_search(search, config, spec)

    def step(params, key, *, history, frame, prev_action, episode_start, legal_mask, episode_step):
        k_search, k_sample, k_random = jax.random.split(key, 3)
        history = push(history, frame, prev_action, episode_start)
        _, out = search_from(params, history, legal_mask, k_search)
        action = choose_action(
            config, out, legal_mask, episode_step=episode_step, k_sample=k_sample,
            k_random=k_random,
        )  # fmt: skip
        return history, action, out

    return step


class _Group:
    """One batch of emulators with its history and episode bookkeeping (host side)."""

    def __init__(self, env, config: Config, spec: EnvSpec):
        self.env = env
        self.config = config
        self.spec = spec
        self.restart()

    def restart(self) -> None:
        n = self.env.num_envs
        self.timestep: TimeStep = self.env.reset()
        self.history = init_history(
            n, self.config.history.frames, self.spec.observation_shape, self.spec.observation_dtype
        )
        self.prev_action = np.full(n, NO_ACTION, np.int32)
        self.episode_start = np.ones(n, bool)
        self.episode_step = np.zeros(n, np.int32)
        self.episode_return = np.zeros(n, np.float64)


def _step_group(step_fn, params: Params, group: _Group, key: PRNGKey):
    """Run `make_policy_step`'s function on a group; its history advances in place."""
    ts = group.timestep
    group.history, action, out = step_fn(
        params,
        key,
        history=group.history,
        frame=ts.observation,
        prev_action=group.prev_action,
        episode_start=group.episode_start,
        legal_mask=ts.legal_mask,
        episode_step=group.episode_step,
    )
    return action, out


class HostActor:
    """Plays `act(params, key)` chunks of T steps on E host environments."""

    def __init__(self, config: Config, spec: EnvSpec, search: SearchFn, seed: int):
        num_envs = config.actor.num_envs
        groups = 2 if num_envs >= 2 and num_envs % 2 == 0 else 1
        size = num_envs // groups
        self.config = config
        self.spec = spec
        self.groups = [
            _Group(envs.make_host(config.env, size, seed + g * size), config, spec)
            for g in range(groups)
        ]
        self._step = jax.jit(make_policy_step(search, config, spec))

    def restart(self, seed: int) -> None:
        """Fresh episodes everywhere (after a resume), seeded anew."""
        for g, group in enumerate(self.groups):
            group.env.close()
            size = group.env.num_envs
            group.env = envs.make_host(self.config.env, size, seed + g * size)
            group.restart()

    def launch(self, params: Params, group: _Group, key: PRNGKey):
        """Dispatch one group's policy step (asynchronously); returns (action, search output)."""
        return _step_group(self._step, params, group, key)

    def act(self, params: Params, key: PRNGKey) -> tuple[Trajectory, ActStats]:
        """T steps of every environment, search of one group overlapping the other's emulation."""
        num_steps = self.config.actor.unroll_length
        groups = self.groups
        keys = jax.random.split(key, num_steps * len(groups)).reshape(num_steps, len(groups))
        records = [[] for _ in groups]  # per group and step: (time step, action, search output)
        results = [[] for _ in groups]  # per group and step: (reward, terminated, truncated)
        finished = {"episodes": 0, "return_sum": 0.0, "length_sum": 0}

        if len(groups) == 1:
            (group,) = groups
            for t in range(num_steps):
                self._send(group, *self.launch(params, group, keys[t, 0]), records[0])
                self._receive(group, results[0], finished)
        else:
            a, b = groups
            pending = self.launch(params, a, keys[0, 0])
            for t in range(num_steps):
                self._send(a, *pending, records[0])  # a emulates ...
                if t > 0:
                    self._receive(b, results[1], finished)
                pending_b = self.launch(params, b, keys[t, 1])  # ... while b searches
                self._send(b, *pending_b, records[1])  # b emulates ...
                self._receive(a, results[0], finished)
                if t + 1 < num_steps:
                    pending = self.launch(params, a, keys[t + 1, 0])  # ... while a searches
            self._receive(b, results[1], finished)

        trajectory = _assemble(records, results)
        stats = ActStats(
            env_steps=np.float32(num_steps * self.config.actor.num_envs),
            episodes=np.float32(finished["episodes"]),
            return_sum=np.float32(finished["return_sum"]),
            length_sum=np.float32(finished["length_sum"]),
        )
        return trajectory, stats

    @staticmethod
    def _send(group: _Group, action_dev: Array, out: SearchOutput, records: list) -> None:
        action = np.asarray(action_dev)  # waits for this group's search only
        records.append((group.timestep, action_dev, out))
        group.env.send(action)
        group.prev_action = action

    def _receive(self, group: _Group, results: list, finished: dict) -> None:
        ts = group.env.recv()
        done = ts.terminated | ts.truncated
        group.episode_return += ts.reward
        group.episode_step += 1
        finished["episodes"] += int(done.sum())
        finished["return_sum"] += float(group.episode_return[done].sum())
        finished["length_sum"] += int(group.episode_step[done].sum())
        group.episode_return[done] = 0.0
        group.episode_step[done] = 0
        group.episode_start = done
        group.timestep = ts
        results.append((ts.reward, ts.terminated, ts.truncated))

    def close(self) -> None:
        for group in self.groups:
            group.env.close()


def _assemble(records: list, results: list) -> Trajectory:
    """Per-group lists of T steps -> one Trajectory [T, E] (groups side by side)."""

    def column(g: int) -> Trajectory:
        timesteps, actions, outs = zip(*records[g], strict=True)
        rewards, terminated, truncated = (np.stack(x) for x in zip(*results[g], strict=True))
        return Trajectory(
            observation=jnp.asarray(np.stack([ts.observation for ts in timesteps])),
            action=jnp.stack(actions),
            reward=jnp.asarray(rewards),
            terminated=jnp.asarray(terminated),
            truncated=jnp.asarray(truncated),
            root_value=jnp.stack([o.root_value for o in outs]),
            policy=jnp.stack([o.policy_target for o in outs]),
            legal_mask=jnp.asarray(np.stack([ts.legal_mask for ts in timesteps])),
        )

    columns = [column(g) for g in range(len(records))]
    return jax.tree.map(lambda *x: jnp.concatenate(x, axis=1), *columns)


def mark_interrupted(replay: ReplayState) -> ReplayState:
    """End every column's newest record as truncated: the episodes it belonged to were cut by
    the interruption (a resumed host actor starts new ones)."""
    length = replay.action.shape[1]
    last = (replay.steps_written - 1) % length
    written = replay.steps_written > 0
    truncated = replay.truncated.at[:, last].set(replay.truncated[:, last] | written)
    return replay.replace(truncated=truncated & ~replay.terminated)
