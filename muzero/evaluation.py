"""Greedy evaluation: the agent plays its most visited action, with no root noise.

Single-player environments run a batch of episodes to their end inside one jitted
`lax.while_loop`. Two-player games alternate the agent's batched search with a fixed opponent
from `muzero.opponents` on the host, one ply at a time, for each seat.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env
from muzero.config import Config
from muzero.history import push, stack
from muzero.opponents import OPPONENTS
from muzero.search import SearchFn, greedy_action
from muzero.types import Params, PRNGKey


def wilson_interval(successes: float, trials: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def make_single_player_eval(
    env: Env, search: SearchFn, num_episodes: int, config: Config, max_steps: int = 100_000
):
    """Returns eval(params, key) -> returns [N] of N greedy episodes, for the caller to jit."""
    from muzero.actor import start_history

    planes = config.history.action_planes

    def evaluate(params: Params, key: PRNGKey):
        k_reset, key = jax.random.split(key)
        state, ts = jax.vmap(env.reset)(jax.random.split(k_reset, num_episodes))
        history = start_history(env.spec, config, ts.observation)

        def cond(carry):
            running, step = carry[4], carry[6]
            return jnp.any(running) & (step < max_steps)

        def body(carry):
            state, ts, history, key, running, returns, step = carry
            key, k_search, k_step = jax.random.split(key, 3)
            observation = stack(history, env.spec.num_actions, planes)
            out = search(params, observation, ts.legal_mask, k_search)
            action = greedy_action(out, ts.legal_mask)
            state, ts = jax.vmap(env.step)(state, action, jax.random.split(k_step, num_episodes))
            history = push(history, ts.observation, action, jnp.zeros(num_episodes, bool))
            returns = returns + jnp.where(running, ts.reward, 0.0)
            running = running & ~(ts.terminated | ts.truncated)
            return state, ts, history, key, running, returns, step + 1

        running = jnp.ones(num_episodes, bool)
        init = (state, ts, history, key, running, jnp.zeros(num_episodes), 0)
        return jax.lax.while_loop(cond, body, init)[5]

    return evaluate


def play_two_player(
    env: Env, search_jit, params: Params, opponent, agent_seat: int, num_games: int, seed: int
) -> np.ndarray:
    """Outcomes [N] for the agent (+1 win, 0 draw, -1 loss) against `opponent`.

    `agent_seat` 0 means the agent moves first, 1 second.
    """
    rng = np.random.default_rng(seed)
    key = jax.random.key(seed)
    reset = jax.jit(jax.vmap(env.reset))
    step = jax.jit(jax.vmap(env.step))
    key, k_reset = jax.random.split(key)
    state, ts = reset(jax.random.split(k_reset, num_games))
    # Seats are move order: pgx draws which player id moves first, so the agent's id in each
    # game is the first mover's (seat 0) or the other one (seat 1).
    agent_id = np.where(agent_seat == 0, np.asarray(ts.to_play), 1 - np.asarray(ts.to_play))
    outcome = np.zeros(num_games)
    running = np.ones(num_games, bool)
    while running.any():
        key, k_search, k_step = jax.random.split(key, 3)
        out = search_jit(params, ts.observation, ts.legal_mask, k_search)
        agent_action = np.asarray(greedy_action(out, ts.legal_mask))
        observation, legal = np.asarray(ts.observation), np.asarray(ts.legal_mask)
        to_play = np.asarray(ts.to_play)
        other_action = np.zeros(num_games, np.int64)
        needs = running & (to_play != agent_id)
        if needs.any():
            other_action[needs] = opponent(observation[needs], legal[needs], rng)
        mover_is_agent = to_play == agent_id
        action = np.where(mover_is_agent, agent_action, other_action).astype(np.int32)
        state, ts = step(state, jnp.asarray(action), jax.random.split(k_step, num_games))
        reward = np.asarray(ts.reward)
        outcome += np.where(running, np.where(mover_is_agent, reward, -reward), 0.0)
        running &= ~np.asarray(ts.terminated | ts.truncated)
    return np.sign(outcome)


def evaluate_two_player(
    env: Env,
    search: SearchFn,
    params: Params,
    opponents: tuple[str, ...],
    num_games: int,
    seed: int = 0,
) -> dict[str, Any]:
    """Win/draw/loss rates per opponent and seat, with 95% Wilson intervals.

    `search` should be jitted by the caller (and kept), so repeated evaluations compile once.
    """
    results: dict[str, Any] = {}
    for name in opponents:
        for seat in range(env.spec.num_players):
            outcomes = play_two_player(
                env, search, params, OPPONENTS[name], seat, num_games, seed + 7919 * seat
            )
            wins, draws, losses = (int(np.sum(outcomes == v)) for v in (1, 0, -1))
            low, high = wilson_interval(wins, num_games)
            results[f"{name}/{('first', 'second')[seat]}"] = {
                "games": num_games,
                "wins": wins,
                "draws": draws,
                "losses": losses,
                "win_rate": wins / num_games,
                "win_rate_ci95": [low, high],
                "loss_rate": losses / num_games,
            }
    return results
