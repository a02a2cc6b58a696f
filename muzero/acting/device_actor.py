"""Self-play on the device: search and environment step scanned together.

For environments written in JAX (pgx, gymnax) a whole chunk of T steps of E environments is
one `lax.scan`: no host round trip between steps. Finished episodes are reset inside the scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from envs.core import Env, TimeStep, random_legal_action, select_rows
from muzero.acting.histories import make_history_search, start_history
from muzero.config import Config
from muzero.replay.buffer import Trajectory
from muzero.replay.history import History, push
from muzero.search.policy import SearchFn, SearchOutput, sample_visits
from muzero.types import Array, Params, PRNGKey


class ActorState(struct.PyTreeNode):
    env_state: Any  # [E] the adapters' state pytrees
    timestep: TimeStep  # [E] the current time step of every environment
    history: History  # [E, N] the frames (and actions) the network sees, current frame last
    episode_step: Array  # [E] int32, moves made in the current episode
    episode_return: Array  # [E] float32, return so far, seen by player 0


class ActStats(struct.PyTreeNode):
    """Counts over one chunk, summed on device (fetched only at log time)."""

    env_steps: Array  # []
    episodes: Array  # [] episodes finished
    return_sum: Array  # [] sum of returns of finished episodes (player 0's view)
    length_sum: Array  # [] sum of their lengths


def init_actor(env: Env, config: Config, key: PRNGKey) -> ActorState:
    num_envs = config.actor.num_envs
    env_state, timestep = jax.vmap(env.reset)(jax.random.split(key, num_envs))
    return ActorState(
        env_state=env_state,
        timestep=timestep,
        history=start_history(env.spec, config, timestep.observation),
        episode_step=jnp.zeros((num_envs,), jnp.int32),
        episode_return=jnp.zeros((num_envs,), jnp.float32),
    )


def choose_action(
    config: Config,
    out: SearchOutput,
    legal_mask: Array,
    *,
    episode_step: Array,
    k_sample: PRNGKey,
    k_random: PRNGKey,
) -> Array:
    """Self-play exploration (../shared/STACK_NOTES.md calibration): the first
    `random_opening_moves` moves of an episode are uniformly random among legal actions; after
    that moves are sampled from root visit counts at the configured temperature, or taken from
    the search itself (`action_selection="search"`)."""
    ac = config.actor
    if ac.action_selection == "search":
        action = out.action
    else:
        action = sample_visits(
            k_sample, out.visit_counts, legal_mask, ac.temperature, out.policy_target
        )
    opening = episode_step < ac.random_opening_moves
    return jnp.where(opening, random_legal_action(k_random, legal_mask), action)


ActFn = Callable[[Params, ActorState, PRNGKey], tuple[ActorState, Trajectory, ActStats]]


def make_act_fn(env: Env, search: SearchFn, config: Config) -> ActFn:
    """Returns act(params, actor_state, key) -> (actor_state, trajectory [T, E], stats);
    actions as in `choose_action`."""
    ac = config.actor
    two_player = env.spec.two_player
    search_from = make_history_search(search, config, env.spec)

    def one_step(carry, key):
        params, state = carry
        k_search, k_sample, k_random, k_step, k_reset = jax.random.split(key, 5)
        ts = state.timestep
        _, out = search_from(params, state.history, ts.legal_mask, k_search)
        action = choose_action(
            config, out, ts.legal_mask, episode_step=state.episode_step, k_sample=k_sample,
            k_random=k_random,
        )  # fmt: skip

        num_envs = action.shape[0]
        env_state, next_ts = jax.vmap(env.step)(
            state.env_state, action, jax.random.split(k_step, num_envs)
        )
        # Episode bookkeeping from player 0's point of view (rewards are the mover's).
        sign = jnp.where(ts.to_play == 0, 1.0, -1.0) if two_player else 1.0
        episode_return = state.episode_return + sign * next_ts.reward
        done = next_ts.terminated | next_ts.truncated
        record = Trajectory(
            observation=ts.observation,
            action=action,
            reward=next_ts.reward,
            terminated=next_ts.terminated,
            truncated=next_ts.truncated,
            root_value=out.root_value,
            policy=out.policy_target,
            legal_mask=ts.legal_mask,
        )
        stats = ActStats(
            env_steps=jnp.float32(num_envs),
            episodes=jnp.sum(done).astype(jnp.float32),
            return_sum=jnp.sum(jnp.where(done, episode_return, 0.0)),
            length_sum=jnp.sum(jnp.where(done, state.episode_step + 1, 0)).astype(jnp.float32),
        )
        reset_state, reset_ts = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))
        timestep = select_rows(done, reset_ts, next_ts)
        state = ActorState(
            env_state=select_rows(done, reset_state, env_state),
            timestep=timestep,
            history=push(state.history, timestep.observation, action, done),
            episode_step=jnp.where(done, 0, state.episode_step + 1),
            episode_return=jnp.where(done, 0.0, episode_return),
        )
        return (params, state), (record, stats)

    def act(params: Params, state: ActorState, key: PRNGKey):
        keys = jax.random.split(key, ac.unroll_length)
        (_, state), (trajectory, stats) = jax.lax.scan(one_step, (params, state), keys)
        return state, trajectory, jax.tree.map(jnp.sum, stats)

    return act
