"""Training targets for K unrolled steps from one sampled position (MuZero appendix G).

A window holds W = K + n + 1 consecutive records of one environment's stream, where record j
is (state s_j: root value v_j, policy pi_j; action a_j; then reward r_j, terminated_j,
truncated_j of the transition s_j -> s_{j+1}). Streams run across episodes: after a record
that ends an episode, the next record starts a new one.

Value target for the state at offset k, with per-ply discount d (gamma, or -gamma in
two-player games so each player's value is from its own point of view):
    z_k = sum_{i<n} alive_i * d^i * (r_{k+i}, or v_{k+i} if that transition was truncated)
          + alive_n * d^n * v_{k+n}
where alive_i says no episode end happened in records k .. k+i-1. A termination stops the sum
(nothing follows the game's end); a truncation bootstraps from the value of its last real
state, since the episode had a future it did not see.

Past the end of an episode (offsets after the first record that ended it):
- after a termination the model is trained towards an absorbing state: reward 0, value 0, and
  no policy target (masked);
- after a truncation nothing is known, so every target is masked.

With a value-prefix horizon H > 0 (EfficientZero, Ye et al. 2021, section 4.2) the reward target
at offset k is the value prefix: the sum of the reward targets at offsets j+1 .. k, where j is
the last multiple of H before k (the model's LSTM is reset at those offsets). The absorbing
state's zero rewards add nothing to it; the masks are the per-step rewards' masks.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from muzero.replay.buffer import Window
from muzero.types import Array


class UnrollTargets(struct.PyTreeNode):
    actions: Array  # [K] actions fed to the dynamics
    value: Array  # [K+1]
    value_mask: Array  # [K+1]
    reward: Array  # [K+1], index 0 unused (zero, masked)
    reward_mask: Array  # [K+1]
    policy: Array  # [K+1, A]
    policy_mask: Array  # [K+1]


def n_step_values(
    window: Window,
    num_starts: int,
    td_steps: int,
    discount: float,
    horizon: Array | None = None,
) -> Array:
    """[num_starts] value targets z_k for k = 0 .. num_starts-1 (formula in the module doc).

    Vectorised over [num_starts, td_steps] offsets rather than looped: with Monte-Carlo
    horizons (n = 42 in connect four) a sequential loop dominated the update's time on CPU.
    `horizon` (a traced int in 1 .. td_steps) bootstraps after that many steps instead of n:
    EfficientZero's off-policy correction shortens it for old data (`off_policy_td`).
    """
    ended = window.terminated.astype(bool) | window.truncated.astype(bool)
    positions = jnp.arange(num_starts)[:, None] + jnp.arange(td_steps)[None, :]  # [S, n]
    ended_at = ended[positions]
    inside = None
    if horizon is not None:  # only the first `horizon` steps count
        inside = jnp.arange(td_steps)[None, :] < horizon  # [1, n]
        ended_at = ended_at & inside
    # alive[k, i]: no episode end in records k .. k+i-1 (an exclusive running count).
    alive = (jnp.cumsum(ended_at, axis=1) - ended_at) == 0
    if inside is not None:
        alive = alive & inside
    step_value = jnp.where(
        window.truncated[positions], window.root_value[positions], window.reward[positions]
    )
    # d^0 .. d^(n-1) by repeated products: exact signs for the negative two-player discount.
    powers = jnp.cumprod(jnp.full((td_steps,), discount, jnp.float32)) / discount
    total = jnp.sum(jnp.where(alive, powers * step_value, 0.0), axis=1)
    alive_at_end = ~jnp.any(ended_at, axis=1)
    steps = td_steps if horizon is None else horizon
    bootstrap = window.root_value[jnp.arange(num_starts) + steps]
    return total + jnp.where(alive_at_end, powers[steps - 1] * discount * bootstrap, 0.0)


def off_policy_td(age: Array, td_steps: int, age_per_step: int) -> Array:
    """[B] env steps since each position was played -> [B] value horizons in 1 .. td_steps.

    EfficientZero's model-based off-policy correction (Ye et al. 2021, section 4.3): the
    rewards of old trajectories were earned by an older policy, so the older the data, the
    sooner the target bootstraps from the (reanalysed) value: one step earlier per
    `age_per_step` env steps of age.
    """
    shorter = (age // age_per_step).astype(jnp.int32)
    return jnp.clip(td_steps - shorter, 1, td_steps)


def value_prefixes(reward: Array, horizon: int) -> Array:
    """Per-offset reward targets [K+1] (index 0 unused) -> value prefixes [K+1]: at offset k,
    the sum since the last offset that is a multiple of `horizon` (index 0 stays 0)."""
    offsets = jnp.arange(reward.shape[0])
    segment = (offsets - 1) // horizon  # offsets 1..H share segment 0, H+1..2H segment 1
    same = (segment[:, None] == segment[None, :]) & (offsets[None, :] <= offsets[:, None])
    return jnp.sum(jnp.where(same & (offsets[None, :] > 0), reward[None, :], 0.0), axis=1)


def unroll_targets(
    window: Window,
    unroll_steps: int,
    td_steps: int,
    discount: float,
    horizon: Array | None = None,
    *,
    value_prefix_horizon: int = 0,
) -> UnrollTargets:
    """Targets for offsets 0..K of one window of W = K + n + 1 records; `horizon` as in
    `n_step_values`; with `value_prefix_horizon` > 0 the reward targets are value prefixes
    (module doc)."""
    k_steps = unroll_steps
    ended = (window.terminated | window.truncated)[:k_steps]
    # alive[k]: no episode end in records 0 .. k-1 (offset 0 is always a real state).
    alive = jnp.concatenate([jnp.ones((1,), bool), jnp.cumsum(ended) == 0])
    # The first end decides what lies beyond it: termination (absorbing) or truncation.
    first_end = jnp.argmax(ended)
    ended_by_termination = jnp.any(ended) & window.terminated[first_end]
    absorbed = ~alive & ended_by_termination

    z = n_step_values(window, k_steps + 1, td_steps, discount, horizon)
    value = jnp.where(alive, z, 0.0)
    value_mask = alive | absorbed
    # reward target at offset k (k >= 1) is the reward of transition k-1.
    prev_alive = jnp.concatenate([jnp.zeros((1,), bool), alive[:-1]])
    prev_absorbed = jnp.concatenate([jnp.zeros((1,), bool), absorbed[:-1]])
    reward = jnp.where(prev_alive, jnp.concatenate([jnp.zeros((1,)), window.reward[:k_steps]]), 0.0)
    reward_mask = prev_alive | prev_absorbed
    if value_prefix_horizon:
        reward = value_prefixes(reward, value_prefix_horizon)
    return UnrollTargets(
        actions=window.action[:k_steps],
        value=value.astype(jnp.float32),
        value_mask=value_mask.astype(jnp.float32),
        reward=reward.astype(jnp.float32),
        reward_mask=reward_mask.astype(jnp.float32),
        policy=window.policy[: k_steps + 1],
        policy_mask=alive.astype(jnp.float32),
    )


def batch_targets(
    windows: Window,
    *,
    unroll_steps: int,
    td_steps: int,
    discount: float,
    horizon: Array | None = None,
    value_prefix_horizon: int = 0,
) -> UnrollTargets:
    """`unroll_targets` over a batch of windows [B, W] (and horizons [B]) -> targets
    [B, K(+1), ...]."""
    if horizon is None:
        return jax.vmap(
            lambda w: unroll_targets(
                w, unroll_steps, td_steps, discount, value_prefix_horizon=value_prefix_horizon
            )
        )(windows)
    return jax.vmap(
        lambda w, h: unroll_targets(
            w, unroll_steps, td_steps, discount, h, value_prefix_horizon=value_prefix_horizon
        )
    )(windows, horizon)
