"""Observation histories: hand-built frames, episode starts, and the replay's rebuilt histories
equal to what the actor saw."""

import jax.numpy as jnp
import numpy as np
import pytest

from muzero.replay import buffer as R
from muzero.replay import history as H
from muzero.types import EnvSpec


def frame(value, shape=(2, 2, 1)):
    return jnp.full((1, *shape), value, jnp.uint8)


def test_push_and_stack_by_hand_with_action_planes():
    h = H.init_history(1, 3, (2, 2, 1), jnp.uint8)
    h = H.push(h, frame(10), jnp.array([H.NO_ACTION]), jnp.array([True]))
    h = H.push(h, frame(20), jnp.array([2]), jnp.array([False]))
    h = H.push(h, frame(30), jnp.array([0]), jnp.array([False]))
    obs = np.asarray(H.stack(h, num_actions=4, action_planes=True))
    assert obs.shape == (1, 2, 2, 6) and obs.dtype == np.uint8
    np.testing.assert_array_equal(obs[0, 0, 0], [10, 20, 30, 0, 191, 64])  # 255*(a+1)/4
    assert np.all(obs[0] == obs[0, :1, :1])  # every plane is constant over the board


def test_history_slides_and_clears_at_episode_start():
    h = H.init_history(2, 3, (2, 2, 1), jnp.uint8)
    for value in (1, 2, 3, 4):
        h = H.push(
            h,
            jnp.concatenate([frame(value), frame(value + 100)]),
            jnp.array([1, 1]),
            jnp.array([value == 1, value == 1]),
        )
    np.testing.assert_array_equal(np.asarray(h.frames[:, :, 0, 0, 0]), [[2, 3, 4], [102, 103, 104]])
    # Only the second environment starts a new episode.
    h = H.push(
        h, jnp.concatenate([frame(5), frame(7)]), jnp.array([0, 2]), jnp.array([False, True])
    )
    np.testing.assert_array_equal(np.asarray(h.frames[:, :, 0, 0, 0]), [[3, 4, 5], [0, 0, 7]])
    np.testing.assert_array_equal(np.asarray(h.actions), [[1, 1, 0], [-1, -1, -1]])


def test_single_frame_without_planes_is_the_frame_itself():
    h = H.init_history(1, 1, (3,), jnp.float32)
    h = H.push(h, jnp.array([[1.0, 2.0, 3.0]]), jnp.array([0]), jnp.array([True]))
    np.testing.assert_array_equal(np.asarray(H.stack(h, 4, False)), [[1.0, 2.0, 3.0]])
    assert H.stacked_shape((3,), 1, False) == (3,)
    assert H.stacked_shape((96, 96, 3), 32, True) == (96, 96, 128)
    assert H.stacked_shape((4,), 2, True) == (10,)


@pytest.mark.parametrize("num_frames", [1, 3, 5])
def test_replay_rebuilds_the_histories_the_actor_saw(num_frames):
    """Random episode ends, a ring that wraps: every valid position's rebuilt history equals
    the one pushed step by step."""
    rng = np.random.default_rng(0)
    num_envs, steps, length, chunk = 3, 64, 24, 4
    spec = EnvSpec("t", 4, (2, 2, 1), np.dtype(np.uint8), 1)
    replay = R.init_replay(spec, num_envs, length)
    h = H.init_history(num_envs, num_frames, (2, 2, 1), jnp.uint8)
    start = np.ones(num_envs, bool)
    prev_action = np.full(num_envs, H.NO_ACTION)
    seen = []
    records = {k: [] for k in ("frame", "action", "terminated", "truncated")}
    for t in range(steps):
        f = jnp.asarray(rng.integers(1, 255, (num_envs, 2, 2, 1)), jnp.uint8)
        h = H.push(h, f, jnp.asarray(prev_action), jnp.asarray(start))
        seen.append(np.asarray(H.stack(h, 4, True)))
        action = rng.integers(0, 4, num_envs)
        terminated = rng.random(num_envs) < 0.15
        truncated = ~terminated & (rng.random(num_envs) < 0.05)
        for k, v in zip(records, (f, action, terminated, truncated), strict=True):
            records[k].append(np.asarray(v))
        start, prev_action = terminated | truncated, action
        if (t + 1) % chunk == 0:
            sl = slice(t + 1 - chunk, t + 1)
            replay = R.add(
                replay,
                R.Trajectory(
                    observation=jnp.asarray(np.stack(records["frame"][sl])),
                    action=jnp.asarray(np.stack(records["action"][sl]), jnp.int32),
                    reward=jnp.zeros((chunk, num_envs)),
                    terminated=jnp.asarray(np.stack(records["terminated"][sl])),
                    truncated=jnp.asarray(np.stack(records["truncated"][sl])),
                    root_value=jnp.zeros((chunk, num_envs)),
                    policy=jnp.full((chunk, num_envs, 4), 0.25),
                    legal_mask=jnp.ones((chunk, num_envs, 4), bool),
                ),
            )
    # With action planes the lookback includes the action before the oldest frame.
    valid = np.asarray(R.valid_positions(replay, 0, num_frames))
    rows, slots = np.nonzero(valid)
    assert len(rows) == num_envs * (length - num_frames)
    past = H.from_replay(
        replay.observation,
        replay.action,
        replay.terminated | replay.truncated,
        R.slot_times(replay),
        jnp.asarray(rows),
        jnp.asarray(slots),
        num_frames,
    )
    rebuilt = np.asarray(H.stack(past, 4, True))
    times = np.asarray(R.slot_times(replay))[slots]
    expected = np.stack([seen[t][e] for t, e in zip(times, rows, strict=True)])
    np.testing.assert_array_equal(rebuilt, expected)
