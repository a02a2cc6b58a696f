"""The device actor: automatic resets inside the scan, and random opening moves."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

import envs
from configs import get_preset
from muzero.acting.device_actor import init_actor, make_act_fn
from muzero.search.policy import SearchOutput


def lowest_legal_search(params, observation, legal_mask, key):
    """A stand-in search that always picks the lowest legal action."""
    del params, observation, key
    action = jnp.argmax(legal_mask, axis=-1).astype(jnp.int32)
    policy = jax.nn.one_hot(action, legal_mask.shape[-1])
    return SearchOutput(action, policy, policy.astype(jnp.int32), jnp.zeros(action.shape))


def run_actor(opening_moves: int, chunks: int = 3):
    base = get_preset("smoke")
    config = base.replace(
        actor=dataclasses.replace(
            base.actor,
            num_envs=32,
            unroll_length=12,
            random_opening_moves=opening_moves,
            action_selection="search",
        )
    )
    env = envs.make(config.env.id)
    act = jax.jit(make_act_fn(env, lowest_legal_search, config))
    state = init_actor(env, config, jax.random.key(0))
    records, totals = [], {"episodes": 0.0, "env_steps": 0.0}
    for i in range(chunks):
        state, trajectory, stats = act({}, state, jax.random.key(i + 1))
        records.append(jax.tree.map(np.asarray, trajectory))
        totals["episodes"] += float(stats.episodes)
        totals["env_steps"] += float(stats.env_steps)
    trajectory = jax.tree.map(lambda *x: np.concatenate(x), *records)  # [T, E, ...]
    first = np.asarray(env.reset(jax.random.key(0))[1].observation)
    return trajectory, totals, first


def episode_steps(done: np.ndarray) -> np.ndarray:
    """[T, E] the move number of each record within its episode."""
    steps = np.zeros(done.shape, int)
    for t in range(1, len(done)):
        steps[t] = np.where(done[t - 1], 0, steps[t - 1] + 1)
    return steps


def test_finished_episodes_restart_inside_the_scan():
    trajectory, totals, first = run_actor(opening_moves=0)
    done = trajectory.terminated | trajectory.truncated
    assert done.sum() > 10  # tic-tac-toe ends within 9 moves: many episodes in 36 steps
    assert totals["episodes"] == done.sum() and totals["env_steps"] == done.size
    after = np.argwhere(done[:-1])  # the record after an end is a fresh empty board
    for t, e in after:
        np.testing.assert_array_equal(trajectory.observation[t + 1, e], first)
    # A deterministic player from the same start plays one game, again and again.
    steps = episode_steps(done)
    for k in range(3):
        moves = trajectory.action[steps == k]
        assert len(set(moves.tolist())) == 1


def test_the_first_moves_are_random_and_the_rest_follow_the_search():
    trajectory, _, _ = run_actor(opening_moves=2)
    done = trajectory.terminated | trajectory.truncated
    steps = episode_steps(done)
    for k in range(2):
        assert len(set(trajectory.action[steps == k].tolist())) > 3  # random opening moves
    # After the opening the stand-in search's choice: the lowest empty cell.
    later = steps >= 2
    empty = ~trajectory.observation.reshape(*steps.shape, 9, 2).any(-1)
    lowest = np.argmax(empty, axis=-1)
    np.testing.assert_array_equal(trajectory.action[later], lowest[later])
