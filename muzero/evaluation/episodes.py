"""The one greedy episode loop: the agent plays its most visited action, with no root noise.

E episodes run side by side from their environments' reset to their end (or `max_steps`).
Every step searches from each episode's history (`muzero.acting.histories`), plays the greedy
action, steps the environments and hands a `GreedyStep` to the caller's `accumulate`, which
keeps what it needs: the returns (evaluation), whole records (`muzero.evaluation.model_errors`),
a video. One body serves both kinds of environment: JAX environments run it inside one jitted
`lax.while_loop`, host environments (Atari, whose emulators step on the CPU) in a Python loop
with the same contract (`host_while_loop`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.core import Env, TimeStep
from muzero.acting.histories import make_history_search, network_input, start_history
from muzero.config import Config
from muzero.replay.history import push
from muzero.search.policy import SearchFn, SearchOutput, greedy_action
from muzero.types import Array, Params, PRNGKey


class GreedyStep(struct.PyTreeNode):
    """One step of E greedy episodes, as `accumulate` sees it."""

    frame: Array  # [E, *F] the environment's observation the step started from
    observation: Array  # [E, *O] the stacked observation the network saw
    out: SearchOutput  # [E] the search from it
    action: Array  # [E] int32 the most visited legal action, played
    timestep: TimeStep  # [E] the time step the action led to
    running: Array  # [E] bool: the episode was still running before this step


# (what is kept so far, step index, this step) -> what is kept
Accumulate = Callable[[Any, Any, GreedyStep], Any]


def host_while_loop(cond: Callable, body: Callable, carry: Any) -> Any:
    """`lax.while_loop`'s contract run by Python, for environments stepped outside JAX."""
    while cond(carry):
        carry = body(carry)
    return carry


def batched(env: Env, num_envs: int) -> Env:
    """`env` over a batch of E environments: reset(key) and step(state, action [E], key) split
    the key into one per environment, as the actors do."""

    def reset(key: PRNGKey):
        return jax.vmap(env.reset)(jax.random.split(key, num_envs))

    def step(state: Any, action: Array, key: PRNGKey):
        return jax.vmap(env.step)(state, action, jax.random.split(key, num_envs))

    return Env(spec=env.spec, reset=reset, step=step)


def make_greedy_episodes(
    env: Env,
    search: SearchFn,
    config: Config,
    *,
    init: Callable[[Array], Any],
    accumulate: Accumulate,
    max_steps: int | None = None,
    while_loop: Callable = jax.lax.while_loop,
) -> Callable[[Params, PRNGKey], tuple[Any, Array]]:
    """Returns play(params, key) -> (kept, running [E]): greedy episodes of the batched `env`
    (`batched`), for the caller to jit (JAX environments) or to run as it is (host ones, with
    `while_loop=host_while_loop`).

    `init(observation [E, *O])` makes what is kept from the first stacked observation;
    `accumulate` updates it every step. `running` marks the episodes cut by `max_steps`.
    """
    spec = env.spec
    search_from = make_history_search(search, config, spec)

    def play(params: Params, key: PRNGKey) -> tuple[Any, Array]:
        k_reset, key = jax.random.split(key)
        state, ts = env.reset(k_reset)
        history = start_history(spec, config, ts.observation)
        num_envs = ts.legal_mask.shape[0]

        def cond(carry):
            running, step = carry[4], carry[6]
            more = jnp.any(running)
            return more if max_steps is None else more & (step < max_steps)

        def body(carry):
            state, ts, history, key, running, kept, step = carry
            key, k_search, k_step = jax.random.split(key, 3)
            observation, out = search_from(params, history, ts.legal_mask, k_search)
            action = greedy_action(out, ts.legal_mask)
            state, next_ts = env.step(state, action, k_step)
            # Only first episodes count: whatever a finished one's environment does next, its
            # history need not restart.
            history = push(history, next_ts.observation, action, jnp.zeros(num_envs, bool))
            kept = accumulate(
                kept,
                step,
                GreedyStep(
                    frame=ts.observation,
                    observation=observation,
                    out=out,
                    action=action,
                    timestep=next_ts,
                    running=running,
                ),
            )
            running = running & ~(next_ts.terminated | next_ts.truncated)
            return state, next_ts, history, key, running, kept, step + 1

        kept = init(network_input(history, config, spec))
        running = jnp.ones(num_envs, bool)
        carry = while_loop(cond, body, (state, ts, history, key, running, kept, 0))
        return carry[5], carry[4]

    return play


def add_rewards(returns: Array, step: Any, s: GreedyStep) -> Array:
    """`accumulate` of the returns [E]: each step's reward while its episode runs."""
    del step
    return returns + jnp.where(s.running, s.timestep.reward, 0.0)


def make_single_player_eval(
    env: Env, search: SearchFn, num_episodes: int, config: Config, max_steps: int = 100_000
) -> Callable[[Params, PRNGKey], Array]:
    """Returns eval(params, key) -> returns [N] of N greedy episodes, for the caller to jit."""
    play = make_greedy_episodes(
        batched(env, num_episodes),
        search,
        config,
        init=lambda observation: jnp.zeros(num_episodes),
        accumulate=add_rewards,
        max_steps=max_steps,
    )

    def evaluate(params: Params, key: PRNGKey) -> Array:
        return play(params, key)[0]

    return evaluate


def evaluate_host(
    config: Config,
    search: SearchFn,
    params: Params,
    *,
    num_episodes: int,
    seed: int,
    frames: list | None = None,
) -> np.ndarray:
    """Greedy returns [N] of `num_episodes` host episodes (the first episode of each
    environment), each starting with up to `env.noop_max` no-ops and cut at
    `env.max_episode_steps`; `search` should be jitted. With a `frames` list, the observations
    of the first episode are appended to it (a video)."""
    import envs

    host = envs.make_host(config.env, num_episodes, seed)

    def reset(key: PRNGKey):
        del key  # the emulators were seeded when made
        return None, host.reset()

    def step(state: None, action: Array, key: PRNGKey):
        del state, key
        return None, host.step(np.asarray(action))

    def accumulate(returns: np.ndarray, step: Any, s: GreedyStep) -> np.ndarray:
        del step
        running = np.asarray(s.running)
        if frames is not None and running[0]:
            frames.append(np.asarray(s.frame[0]))
        return returns + np.where(running, s.timestep.reward, 0.0)

    play = make_greedy_episodes(
        Env(spec=envs.spec(config.env), reset=reset, step=step),
        search,
        config,
        init=lambda observation: np.zeros(num_episodes),
        accumulate=accumulate,
        while_loop=host_while_loop,
    )
    try:
        return play(params, jax.random.key(seed))[0]
    finally:
        host.close()
