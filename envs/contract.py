"""One contract every adapter must meet; `tests/environments/test_envs.py` runs it on each of
them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from envs.core import Env, TimeStep, random_legal_action, select_rows


def check_env_contract(env: Env, num_envs: int = 4, num_steps: int = 64, seed: int = 0) -> None:
    """Raise AssertionError if `env` breaks the time-step contract.

    Checks: spec matches what reset/step return; reset and step return one signature (so a
    scanned rollout compiles once); rewards finite float32 scalars; terminated/truncated bool
    scalars, never both; a legal action exists whenever the episode is running; to_play is in
    range; and the adapter never auto-resets (stepping is only done on running episodes here,
    so every episode's time steps are consistent up to its end).
    """
    spec = env.spec
    assert spec.num_actions >= 1 and spec.num_players in (1, 2), spec
    reset = jax.jit(jax.vmap(env.reset))
    state, ts = reset(jax.random.split(jax.random.key(seed), num_envs))
    _check_timestep(ts, env, num_envs)
    assert not np.any(np.asarray(ts.terminated | ts.truncated)), "reset returned a finished step"
    assert np.all(np.asarray(ts.reward) == 0), "reset must give reward 0"

    # Signatures (shapes, dtypes, weak types) of reset and step outputs must be equal.
    step_out = jax.eval_shape(
        jax.vmap(env.step),
        state,
        jnp.zeros(num_envs, jnp.int32),
        jax.random.split(jax.random.key(0), num_envs),
    )
    reset_out = jax.eval_shape(jax.vmap(env.reset), jax.random.split(jax.random.key(0), num_envs))
    assert jax.tree.structure(step_out) == jax.tree.structure(reset_out), "state trees differ"
    for a, b in zip(jax.tree.leaves(step_out), jax.tree.leaves(reset_out), strict=True):
        assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type), (a, b)

    def body(carry, key):
        state, ts, running = carry
        k_act, k_step = jax.random.split(key)
        action = random_legal_action(k_act, ts.legal_mask)
        next_state, next_ts = jax.vmap(env.step)(state, action, jax.random.split(k_step, num_envs))
        # Freeze finished episodes: the contract says nothing about stepping past the end.
        state = select_rows(running, next_state, state)
        ts_out = select_rows(running, next_ts, ts)
        stepped = running
        running = running & ~(next_ts.terminated | next_ts.truncated)
        return (state, ts_out, running), (next_ts, stepped)

    rollout = jax.jit(
        lambda s, t, k: jax.lax.scan(
            body, (s, t, jnp.ones(num_envs, bool)), jax.random.split(k, num_steps)
        )
    )
    (_, _, _), (steps, stepped) = rollout(state, ts, jax.random.key(seed + 1))
    steps = jax.tree.map(np.asarray, steps)
    stepped = np.asarray(stepped)
    assert np.all(np.isfinite(steps.reward[stepped])), "non-finite reward"
    assert not np.any(steps.terminated & steps.truncated), "terminated and truncated together"
    running_after = stepped & ~(steps.terminated | steps.truncated)
    assert np.all(steps.legal_mask[running_after].any(axis=-1)), "running step with no legal move"
    if spec.num_players == 1:
        assert np.all(steps.to_play == 0)
    else:
        assert np.all(
            (steps.to_play[running_after] >= 0) & (steps.to_play[running_after] < spec.num_players)
        )


def _check_timestep(ts: TimeStep, env: Env, num_envs: int) -> None:
    spec = env.spec
    assert ts.observation.shape == (num_envs, *spec.observation_shape), ts.observation.shape
    assert ts.observation.dtype == spec.observation_dtype, ts.observation.dtype
    assert ts.reward.shape == (num_envs,) and ts.reward.dtype == jnp.float32
    assert ts.terminated.shape == (num_envs,) and ts.terminated.dtype == jnp.bool_
    assert ts.truncated.shape == (num_envs,) and ts.truncated.dtype == jnp.bool_
    assert ts.legal_mask.shape == (num_envs, spec.num_actions)
    assert ts.legal_mask.dtype == jnp.bool_
    assert ts.to_play.shape == (num_envs,) and ts.to_play.dtype == jnp.int32
    assert np.all(np.asarray(ts.legal_mask).any(axis=-1)), "reset with no legal action"


def check_host_env_contract(env, num_steps: int = 64, seed: int = 0) -> None:
    """The same contract for a host environment (`envs.gymnasium_env.HostEnv`: Atari or a
    registered gymnasium environment): batched numpy time steps from `reset()` and
    `step(actions)`. Host environments restart a finished episode in the same step (its
    observation is the new episode's first), so here stepping goes on past episode ends, with
    actions drawn uniformly among the legal ones."""
    spec = env.spec
    assert spec.num_actions >= 1 and spec.num_players == 1, spec
    num_envs = env.num_envs
    ts = env.reset()
    _check_timestep(ts, env, num_envs)
    assert not np.any(ts.terminated | ts.truncated), "reset returned a finished step"
    assert np.all(ts.reward == 0), "reset must give reward 0"
    rng = np.random.default_rng(seed)
    for _ in range(num_steps):
        # The legal action with the largest uniform draw: uniform among the legal ones.
        scores = np.where(ts.legal_mask, rng.random(ts.legal_mask.shape), -1.0)
        ts = env.step(scores.argmax(axis=-1).astype(np.int32))
        _check_timestep(ts, env, num_envs)
        assert np.all(np.isfinite(ts.reward)), "non-finite reward"
        assert not np.any(ts.terminated & ts.truncated), "terminated and truncated together"
        assert np.all(ts.to_play == 0)
