"""n-step targets, windows across episode ends, and the two-player sign."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from muzero.learning.targets import batch_targets, n_step_values, off_policy_td, unroll_targets
from muzero.replay.buffer import Window


def make_window(rewards, terminated=None, truncated=None, values=None, num_actions=3):
    w = len(rewards)
    policy = np.tile(np.eye(num_actions)[0], (w, 1))
    return Window(
        action=jnp.arange(w, dtype=jnp.int32) % num_actions,
        reward=jnp.asarray(rewards, jnp.float32),
        terminated=jnp.asarray(terminated if terminated is not None else [False] * w, bool),
        truncated=jnp.asarray(truncated if truncated is not None else [False] * w, bool),
        root_value=jnp.asarray(values if values is not None else [0.0] * w, jnp.float32),
        policy=jnp.asarray(policy, jnp.float32),
    )


def python_n_step(w, start, n, d):
    """The textbook definition, one position at a time, with plain Python control flow."""
    total, scale = 0.0, 1.0
    for i in range(n):
        j = start + i
        if bool(w.truncated[j]):
            return total + scale * float(w.root_value[j])
        total += scale * float(w.reward[j])
        if bool(w.terminated[j]):
            return total
        scale *= d
    return total + scale * float(w.root_value[start + n])


def test_four_step_episode_by_hand():
    # One episode of 4 moves that terminates; discount 0.5, n = 2.
    # rewards 1, 2, 3, 4; root values 10, 20, 30, 40 (then a new episode: 50, 60).
    w = make_window(
        [1, 2, 3, 4, 0, 0], terminated=[0, 0, 0, 1, 0, 0], values=[10, 20, 30, 40, 50, 60]
    )
    z = n_step_values(w, num_starts=4, td_steps=2, discount=0.5)
    # z0 = 1 + .5*2 + .25*30 = 9.5; z1 = 2 + .5*3 + .25*40 = 13.5
    # z2 = 3 + .5*4 (terminal, no bootstrap) = 5; z3 = 4
    np.testing.assert_allclose(z, [9.5, 13.5, 5.0, 4.0])


def test_truncation_bootstraps_from_last_real_state():
    w = make_window([1, 1, 1, 1], truncated=[0, 1, 0, 0], values=[7, 8, 9, 9])
    z = n_step_values(w, num_starts=1, td_steps=3, discount=0.9)
    # reward of step 0, then the value of state 1 (whose transition was cut): 1 + 0.9 * 8
    np.testing.assert_allclose(z, [1 + 0.9 * 8])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("d", [0.97, -0.9])
def test_vectorised_targets_equal_a_python_loop(seed, d):
    rng = np.random.default_rng(seed)
    k, n = 5, 6
    width = k + n + 1
    ends = rng.random(width)
    w = make_window(
        rng.normal(size=width),
        terminated=ends < 0.15,
        truncated=(ends >= 0.15) & (ends < 0.25),
        values=rng.normal(size=width),
    )
    z = n_step_values(w, k + 1, n, d)
    expected = [python_n_step(w, s, n, d) for s in range(k + 1)]
    np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)


def test_two_player_sign_by_hand():
    # Tic-tac-toe-like: X moves at 0, O at 1, X at 2 and wins (reward +1 to the mover, X).
    # With discount -1 each player's value target is from its own point of view:
    # X to move at 0 and 2 -> +1; O to move at 1 -> -1.
    w = make_window([0, 0, 1, 0, 0, 0], terminated=[0, 0, 1, 0, 0, 0])
    z = n_step_values(w, num_starts=3, td_steps=3, discount=-1.0)
    np.testing.assert_allclose(z, [1.0, -1.0, 1.0])


def test_targets_past_a_termination_are_absorbing():
    # Episode ends after record 1 (terminated); K = 4.
    w = make_window(
        [0.5, 1.0, 9, 9, 9, 9, 9], terminated=[0, 1, 0, 0, 0, 0, 0], values=[3, 3, 9, 9, 9, 9, 9]
    )
    t = unroll_targets(w, unroll_steps=4, td_steps=2, discount=1.0)
    np.testing.assert_allclose(t.value, [1.5, 1.0, 0, 0, 0])
    np.testing.assert_allclose(t.value_mask, [1, 1, 1, 1, 1])
    np.testing.assert_allclose(t.policy_mask, [1, 1, 0, 0, 0])
    # reward targets: offset 1 <- record 0, offset 2 <- record 1 (last real), then zeros
    np.testing.assert_allclose(t.reward, [0, 0.5, 1.0, 0, 0])
    np.testing.assert_allclose(t.reward_mask, [0, 1, 1, 1, 1])


def test_targets_past_a_truncation_are_masked():
    w = make_window(
        [1, 1, 9, 9, 9, 9, 9], truncated=[0, 1, 0, 0, 0, 0, 0], values=[5, 6, 9, 9, 9, 9, 9]
    )
    t = unroll_targets(w, unroll_steps=4, td_steps=2, discount=1.0)
    np.testing.assert_allclose(t.value_mask, [1, 1, 0, 0, 0])
    np.testing.assert_allclose(t.policy_mask, [1, 1, 0, 0, 0])
    np.testing.assert_allclose(t.reward_mask, [0, 1, 1, 0, 0])
    np.testing.assert_allclose(t.value[:2], [1 + 6, 6])


def test_targets_vmap_over_a_batch_rows_independent():
    rng = np.random.default_rng(0)
    windows = [make_window(rng.normal(size=8), terminated=rng.random(8) < 0.2) for _ in range(4)]
    batched = jax.tree.map(lambda *x: jnp.stack(x), *windows)
    together = jax.vmap(lambda w: unroll_targets(w, 3, 4, 0.9))(batched)
    for i, w in enumerate(windows):
        alone = unroll_targets(w, 3, 4, 0.9)
        np.testing.assert_allclose(together.value[i], alone.value, rtol=1e-6)


def test_off_policy_horizon_by_hand():
    # n = 5, one step shorter per 100 env steps of age, never below 1.
    age = jnp.asarray([0, 99, 100, 250, 399, 400, 10_000])
    np.testing.assert_array_equal(off_policy_td(age, 5, 100), [5, 5, 4, 3, 2, 1, 1])


def test_a_shorter_horizon_bootstraps_earlier_by_hand():
    # rewards 1, 2, 3, 4, 5; values 10, 20, 30, 40, 50, 60; discount 0.5, n = 3.
    w = make_window([1, 2, 3, 4, 5, 0], values=[10, 20, 30, 40, 50, 60])
    full = n_step_values(w, 2, 3, 0.5)  # 1 + 1 + .75 + .125 * 40; 2 + 1.5 + 1 + .125 * 50
    np.testing.assert_allclose(full, [7.75, 10.75])
    np.testing.assert_allclose(n_step_values(w, 2, 3, 0.5, horizon=jnp.asarray(3)), full)
    # horizon 1: r_k + .5 v_{k+1}; horizon 2: r_k + .5 r_{k+1} + .25 v_{k+2}
    np.testing.assert_allclose(n_step_values(w, 2, 3, 0.5, horizon=jnp.asarray(1)), [11, 17])
    np.testing.assert_allclose(n_step_values(w, 2, 3, 0.5, horizon=jnp.asarray(2)), [9.5, 13.5])


@pytest.mark.parametrize("seed", range(3))
def test_shortened_horizons_equal_a_python_loop(seed):
    rng = np.random.default_rng(seed)
    k, n, d = 4, 5, 0.9
    ends = rng.random(k + n + 1)
    w = make_window(
        rng.normal(size=k + n + 1),
        terminated=ends < 0.15,
        truncated=(ends >= 0.15) & (ends < 0.25),
        values=rng.normal(size=k + n + 1),
    )
    for h in range(1, n + 1):
        z = n_step_values(w, k + 1, n, d, horizon=jnp.asarray(h))
        expected = [python_n_step(w, s, h, d) for s in range(k + 1)]
        np.testing.assert_allclose(z, expected, rtol=1e-5, atol=1e-5)


def test_value_prefix_targets_by_hand():
    """EfficientZero section 4.2: with horizon 2 the reward targets of offsets 1..5 are the
    sums since the last reset at offsets 2 and 4: 1, 1+2 | 3, 3+4 | 5."""
    w = make_window([1, 2, 3, 4, 5, 0, 0, 0])
    t = unroll_targets(w, unroll_steps=5, td_steps=2, discount=1.0, value_prefix_horizon=2)
    np.testing.assert_allclose(t.reward, [0, 1, 3, 3, 7, 5])
    np.testing.assert_allclose(t.reward_mask, [0, 1, 1, 1, 1, 1])
    plain = unroll_targets(w, unroll_steps=5, td_steps=2, discount=1.0)
    np.testing.assert_allclose(plain.reward, [0, 1, 2, 3, 4, 5])
    for name in ("value", "value_mask", "policy_mask", "reward_mask", "actions"):
        np.testing.assert_array_equal(getattr(t, name), getattr(plain, name))
    # A horizon at least K never resets: the cumulative sums from the root.
    long = unroll_targets(w, unroll_steps=5, td_steps=2, discount=1.0, value_prefix_horizon=5)
    np.testing.assert_allclose(long.reward, [0, 1, 3, 6, 10, 15])


def test_value_prefix_targets_past_a_termination_add_nothing():
    # Transition 2 terminates: offsets 4 and 5 are the absorbing state (reward 0, counted).
    w = make_window([1, 2, 3, 9, 9, 9, 9, 9], terminated=[0, 0, 1, 0, 0, 0, 0, 0])
    t = unroll_targets(w, unroll_steps=5, td_steps=2, discount=1.0, value_prefix_horizon=2)
    np.testing.assert_allclose(t.reward, [0, 1, 3, 3, 3, 0])
    np.testing.assert_allclose(t.reward_mask, [0, 1, 1, 1, 1, 1])
    # Horizon 3: 1, 3, 6 | 0, 0 (the reset at offset 3 empties the sum).
    t3 = unroll_targets(w, unroll_steps=5, td_steps=2, discount=1.0, value_prefix_horizon=3)
    np.testing.assert_allclose(t3.reward, [0, 1, 3, 6, 0, 0])


def test_value_prefix_targets_past_a_truncation_are_masked():
    w = make_window([1, 2, 9, 9, 9, 9, 9], truncated=[0, 1, 0, 0, 0, 0, 0])
    t = unroll_targets(w, unroll_steps=4, td_steps=2, discount=1.0, value_prefix_horizon=4)
    np.testing.assert_allclose(t.reward_mask, [0, 1, 1, 0, 0])
    np.testing.assert_allclose(t.reward[:3], [0, 1, 3])


@pytest.mark.parametrize("horizon", [1, 2, 3])
def test_value_prefixes_equal_a_python_loop(horizon):
    rng = np.random.default_rng(horizon)
    ends = rng.random(12)
    w = make_window(rng.normal(size=12), terminated=ends < 0.15, truncated=ends > 0.9)
    k = 6
    plain = unroll_targets(w, k, 5, 0.9)
    prefixed = batch_targets(
        jax.tree.map(lambda x: x[None], w),
        unroll_steps=k,
        td_steps=5,
        discount=0.9,
        value_prefix_horizon=horizon,
    )
    expected, total = [0.0], 0.0
    for offset in range(1, k + 1):
        if (offset - 1) % horizon == 0:  # the LSTM state was reset at offset - 1
            total = 0.0
        total += float(plain.reward[offset])
        expected.append(total)
    np.testing.assert_allclose(prefixed.reward[0], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(prefixed.reward_mask[0], plain.reward_mask)
