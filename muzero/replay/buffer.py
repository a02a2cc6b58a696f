"""Prioritized replay of self-play streams, kept on the device (MuZero appendix G).

Storage is one ring buffer per environment column, [E, L]: every acting call appends a chunk of
T steps to all columns at once, so a write is a single `dynamic_update_slice` and positions stay
time-ordered within a column. Each record, and so each frame, is stored once; observation
histories and unroll windows are gathered at sample time. A position can be sampled once the
K + n records after it exist (its targets need them) and, after the ring wraps, while the N - 1
records before it (its history) are still held.

Capacity is counted in records (frames); `replay_bytes` gives the memory it takes, which the
run prints at start and checks against the memory free before anything is allocated.

Sampling probability is P(i) = p_i^alpha / sum_j p_j^alpha over valid positions, with importance
weights (N P(i))^-beta (Schaul et al. 2016) normalised to mean one over the batch. New records get
the largest priority seen so far; after an update a position's priority becomes its root value
error |z - v| (MuZero appendix G).

Stratified sampling (`Strata`), for several devices: the columns are split into D contiguous
blocks of E / D (on a mesh, block d is exactly what device d holds) and each block draws B / D
positions by its own priorities, so P(i) = (1 / D) p_i^alpha / S_d with S_d its block's sum.
Every block has the same number of valid positions (all columns advance together), so no block
is ever empty. The weights keep their form: (N P(i))^-beta with N the valid positions of the
whole replay, normalised to mean one over the whole batch, which corrects the stratification's
bias as it corrects the priorities'. This is Ape-X's distributed replay (Horgan et al. 2018,
"Distributed Prioritized Experience Replay"): a prioritized sample drawn shard by shard. Drawn
globally, a device's share of the batch would come from every device's columns, and XLA moves
replay-sized arrays between the devices to draw and gather it; drawn by strata, the records
never leave their device (tests/runtime/test_sharding.py checks the compiled update). With
D = 1 it is the unstratified computation, to the bit.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from muzero.replay import history as history_lib
from muzero.types import Array, EnvSpec, PRNGKey

PRIORITY_EPS = 1e-6


class Window(struct.PyTreeNode):
    """W consecutive records of one environment (the replay gathers [B, W] of these)."""

    action: Array  # [W] int32
    reward: Array  # [W] float32
    terminated: Array  # [W] bool
    truncated: Array  # [W] bool
    root_value: Array  # [W] float32
    policy: Array  # [W, A] float32
    legal_mask: Array | None = None  # [W, A] bool, the root mask of each state (reanalysis)


class Trajectory(struct.PyTreeNode):
    """A chunk of self-play, time-major [T, E]; record t as described in
    `muzero.learning.targets`."""

    observation: Array  # [T, E, *O]
    action: Array  # [T, E] int32
    reward: Array  # [T, E] float32
    terminated: Array  # [T, E] bool
    truncated: Array  # [T, E] bool
    root_value: Array  # [T, E] float32
    policy: Array  # [T, E, A] float32
    legal_mask: Array  # [T, E, A] bool, legal actions at the state (the search's root mask)


class ReplayState(struct.PyTreeNode):
    observation: Array  # [E, L, *F] one frame per record, histories rebuilt at sample time
    action: Array  # [E, L] int32
    reward: Array  # [E, L] float32
    terminated: Array  # [E, L] bool
    truncated: Array  # [E, L] bool
    root_value: Array  # [E, L] float32
    policy: Array  # [E, L, A] float32
    legal_mask: Array  # [E, L, A] bool
    priority: Array  # [E, L] float32
    steps_written: Array  # [] int32, records written to every column so far
    max_priority: Array  # [] float32


class Sample(struct.PyTreeNode):
    """Positions drawn by priority, with what the learner needs to build their targets."""

    observation: Array  # [B, *O]
    window: Window  # fields [B, W]: the W = K + n + 1 records from each position on
    weight: Array  # [B] importance weights
    index: Array  # [B] flat position in [E * L], for the priority update
    age: Array  # [B] int32 records written to its column since the position (>= 1)
    # [B, K, *O] the observations 1..K records later (EfficientZero's consistency targets;
    # past an episode's end they belong to the next episode and the loss masks them), or None.
    next_observation: Array | None = None


def init_replay(spec: EnvSpec, num_envs: int, steps_per_env: int) -> ReplayState:
    shape = (num_envs, steps_per_env)
    return ReplayState(
        observation=jnp.zeros(shape + spec.observation_shape, spec.observation_dtype),
        action=jnp.zeros(shape, jnp.int32),
        reward=jnp.zeros(shape, jnp.float32),
        terminated=jnp.zeros(shape, bool),
        truncated=jnp.zeros(shape, bool),
        root_value=jnp.zeros(shape, jnp.float32),
        policy=jnp.zeros(shape + (spec.num_actions,), jnp.float32),
        legal_mask=jnp.zeros(shape + (spec.num_actions,), bool),
        priority=jnp.zeros(shape, jnp.float32),
        steps_written=jnp.zeros((), jnp.int32),
        max_priority=jnp.ones((), jnp.float32),
    )


def add(replay: ReplayState, chunk: Trajectory) -> ReplayState:
    """Append a [T, E] chunk to every column. L is a multiple of T, so it never wraps inside."""
    length = replay.action.shape[1]
    start = replay.steps_written % length

    def write(buffer, values):
        values = jnp.swapaxes(values, 0, 1).astype(buffer.dtype)  # [E, T, ...]
        index = (0, start) + (0,) * (buffer.ndim - 2)
        return jax.lax.dynamic_update_slice(buffer, values, index)

    fields = (
        "observation", "action", "reward", "terminated", "truncated", "root_value", "policy",
        "legal_mask",
    )  # fmt: skip
    updated = {f: write(getattr(replay, f), getattr(chunk, f)) for f in fields}
    new_priority = jnp.full(chunk.action.shape, replay.max_priority, jnp.float32)
    return replay.replace(
        **updated,
        priority=write(replay.priority, new_priority),
        steps_written=replay.steps_written + chunk.action.shape[0],
    )


def slot_times(replay: ReplayState) -> Array:
    """[L] int32: absolute time of the record in each slot (negative if never written)."""
    length = replay.action.shape[1]
    written = replay.steps_written
    slot = jnp.arange(length)
    # The latest t < written with t % L == slot.
    age = ((written - 1) % length - slot) % length
    return written - 1 - age


def valid_positions(replay: ReplayState, lookahead: int, lookback: int = 0) -> Array:
    """[E, L] bool: written, not overwritten, followed by `lookahead` written records and, once
    the ring has wrapped, preceded by `lookback` records still held (for its history)."""
    length = replay.action.shape[1]
    absolute = slot_times(replay)
    oldest = jnp.maximum(replay.steps_written - length, 0)
    valid = (absolute >= 0) & (absolute + lookahead < replay.steps_written)
    valid = valid & ((oldest == 0) | (absolute - lookback >= oldest))
    return jnp.broadcast_to(valid, replay.action.shape)


def num_valid(replay: ReplayState, lookahead: int) -> Array:
    return jnp.sum(valid_positions(replay, lookahead))


@dataclasses.dataclass(frozen=True)
class Strata:
    """How sampling splits the replay: into `count` contiguous blocks of E / count environment
    columns, each drawing B / count positions by its own priorities. `sharding` (a
    `NamedSharding` splitting the leading axis over the mesh's devices, or None) places block d
    on device d, so each device samples from the columns it holds (module docstring)."""

    count: int = 1
    sharding: jax.sharding.Sharding | None = None


ONE_STRATUM = Strata()  # the whole replay as one: unstratified sampling


def sample(
    replay: ReplayState,
    key: PRNGKey,
    *,
    batch_size: int,
    unroll_steps: int,
    td_steps: int,
    priority_exponent: float,
    importance_exponent: float,
    history_frames: int = 1,
    action_planes: bool = False,
    next_observations: bool = False,
    legal_masks: bool = False,
    strata: Strata = ONE_STRATUM,
) -> Sample:
    """Draw `batch_size` positions by priority and gather their observations (histories of
    `history_frames` frames, see `muzero.replay.history`) and the windows of records their
    targets are built from (`muzero.learning.targets`); with
    `next_observations`, also the observations of the K records after each position; with
    `legal_masks`, the windows' root legal masks (reanalysis re-searches those states).
    With `strata` of D blocks, rows d B/D .. (d+1) B/D - 1 come from block d (module
    docstring); `index` is still flat in the whole [E * L]."""
    draw = functools.partial(
        _sample_stratum,
        batch_size=batch_size // strata.count,
        unroll_steps=unroll_steps,
        td_steps=td_steps,
        priority_exponent=priority_exponent,
        history={"history_frames": history_frames, "action_planes": action_planes},
        next_observations=next_observations,
        legal_masks=legal_masks,
    )
    if strata.count == 1:  # exactly the unstratified computation
        drawn, num_valid_positions = draw(replay, key)
    else:
        keys = jax.random.split(key, strata.count)
        drawn, counts = jax.vmap(draw)(split_strata(replay, strata), keys)
        # Local flat indices -> flat in [E * L]: block d starts at column d E / D.
        block = replay.action.size // strata.count
        index = drawn.index + jnp.arange(strata.count, dtype=jnp.int32)[:, None] * block
        # P(i) = (1 / D) p_i^alpha / S_d: each block gives 1 / D of the batch.
        drawn = drawn.replace(index=index, weight=drawn.weight / strata.count)
        drawn, num_valid_positions = merge_strata(drawn, strata), jnp.sum(counts)
    weight = (num_valid_positions * drawn.weight) ** (-importance_exponent)
    # Normalised by the batch mean, not the max of Schaul et al.: one rarely drawn,
    # well-predicted position (priority near zero) would otherwise shrink every other weight,
    # and with it the effective learning rate, by orders of magnitude.
    weight = weight / jnp.mean(weight)
    return drawn.replace(weight=weight.astype(jnp.float32))


def _sample_stratum(
    replay: ReplayState,
    key: PRNGKey,
    *,
    batch_size: int,
    unroll_steps: int,
    td_steps: int,
    priority_exponent: float,
    history: dict,
    next_observations: bool,
    legal_masks: bool,
) -> tuple[Sample, Array]:
    """`sample` from one replay (the whole one, or one block of its columns), but its `weight`
    is still each position's probability within this replay, and its `index` is flat in this
    replay's [E * L]; also returns the replay's number of valid positions."""
    length = replay.action.shape[1]
    window_size = unroll_steps + td_steps + 1
    # The history needs the N - 1 frames before a position and, with action planes, the
    # action before the oldest of them.
    frames = history["history_frames"]
    lookback = frames if history["action_planes"] else frames - 1
    valid = valid_positions(replay, window_size - 1, lookback).reshape(-1)
    scaled = jnp.where(
        valid, (replay.priority.reshape(-1) + PRIORITY_EPS) ** priority_exponent, 0.0
    )
    index = sample_proportional(key, scaled, batch_size)
    probs = scaled / jnp.sum(scaled)
    env, slot = index // length, index % length

    positions = (slot[:, None] + jnp.arange(window_size)[None, :]) % length  # [B, W]
    rows = env[:, None]
    window = Window(
        action=replay.action[rows, positions],
        reward=replay.reward[rows, positions],
        terminated=replay.terminated[rows, positions],
        truncated=replay.truncated[rows, positions],
        root_value=replay.root_value[rows, positions],
        policy=replay.policy[rows, positions],
        legal_mask=replay.legal_mask[rows, positions] if legal_masks else None,
    )
    later = None
    if next_observations:  # records t+1 .. t+K lie inside the window, so they are written
        offsets = jnp.broadcast_to(jnp.arange(1, unroll_steps + 1), (batch_size, unroll_steps))
        later = _observations_at(replay, index, offsets, **history)
    drawn = Sample(
        observation=_observations_at(replay, index, jnp.zeros((batch_size, 1), int), **history)[
            :, 0
        ],
        window=window,
        weight=probs[index],
        index=index,
        age=replay.steps_written - slot_times(replay)[slot],
        next_observation=later,
    )
    return drawn, jnp.sum(valid)


def split_strata(replay: ReplayState, strata: Strata) -> ReplayState:
    """The replay as D = `strata.count` blocks of its columns: records [E, L, ...] viewed as
    [D, E / D, L, ...] (E lies in contiguous blocks along the mesh, so each block stays on its
    device), the scalar counters repeated D times."""
    d = strata.count

    def split(x):
        if x.ndim == 0:
            return jnp.broadcast_to(x, (d,))
        return _constrain(x.reshape((d, x.shape[0] // d) + x.shape[1:]), strata)

    return jax.tree.map(split, replay)


def merge_strata(tree: Any, strata: Strata) -> Any:
    """[D, B / D, ...] -> [B, ...], leaf by leaf, block d's rows d B/D .. (d+1) B/D - 1."""
    return jax.tree.map(lambda x: _constrain(x, strata).reshape((-1,) + x.shape[2:]), tree)


def _constrain(x: Array, strata: Strata) -> Array:
    """Block d on device d, where the strata say so."""
    if strata.sharding is None:
        return x
    return jax.lax.with_sharding_constraint(x, strata.sharding)


def observations_at(
    replay: ReplayState,
    index: Array,
    offsets: Array,
    *,
    history_frames: int = 1,
    action_planes: bool = False,
    strata: Strata = ONE_STRATUM,
) -> Array:
    """The network's observations (histories, `muzero.replay.history`) of the records
    `offsets` [B, M] after the positions `index` [B] (flat, as `Sample.index`) -> [B, M, *O].
    The records must be written (a position's window is). With `strata`, the positions must
    lie as `sample` with the same strata draws them (rows of block d from block d's columns),
    so each block reads only its own columns."""
    history = {"history_frames": history_frames, "action_planes": action_planes}
    if strata.count == 1:
        return _observations_at(replay, index, offsets, **history)
    d = strata.count
    block = replay.action.size // d
    local = index.reshape(d, -1) - jnp.arange(d, dtype=index.dtype)[:, None] * block
    offsets = _constrain(offsets.reshape((d, -1) + offsets.shape[1:]), strata)
    read = functools.partial(_observations_at, **history)
    return merge_strata(jax.vmap(read)(split_strata(replay, strata), local, offsets), strata)


def _observations_at(
    replay: ReplayState,
    index: Array,
    offsets: Array,
    *,
    history_frames: int,
    action_planes: bool,
) -> Array:
    """`observations_at` within one replay (the whole one, or one block of its columns)."""
    length = replay.action.shape[1]
    env, slot = index // length, index % length
    absolute = slot_times(replay)
    episode_end = replay.terminated | replay.truncated
    num_actions = replay.policy.shape[-1]
    columns = []
    for m in range(offsets.shape[1]):
        past = history_lib.from_replay(
            replay.observation,
            replay.action,
            episode_end,
            absolute,
            env,
            (slot + offsets[:, m]) % length,
            history_frames,
        )
        columns.append(history_lib.stack(past, num_actions, action_planes))
    return jnp.stack(columns, axis=1)


def sample_proportional(key: PRNGKey, weights: Array, num: int) -> Array:
    """[N] non-negative weights -> [num] indices drawn with probability proportional to weight.

    Inverse-CDF sampling: `searchsorted(side="right")` returns the first index whose
    cumulative sum exceeds u. XLA's parallel cumsum is not exactly monotone in float32, so a
    zero-weight index can still be hit now and then (as can `jax.random.choice`); such a draw
    is redirected to the heaviest index, so no draw ever has probability zero.
    """
    cumulative = jnp.cumsum(weights)
    total = cumulative[-1]
    u = jax.random.uniform(key, (num,)) * total * (1.0 - 1e-6)
    index = jnp.clip(jnp.searchsorted(cumulative, u, side="right"), 0, weights.shape[0] - 1)
    return jnp.where(weights[index] > 0, index, jnp.argmax(weights)).astype(jnp.int32)


def update_priorities(replay: ReplayState, index: Array, priority: Array) -> ReplayState:
    flat = replay.priority.reshape(-1).at[index].set(priority)
    return replay.replace(
        priority=flat.reshape(replay.priority.shape),
        max_priority=jnp.maximum(replay.max_priority, jnp.max(priority)),
    )


def replay_bytes(spec: EnvSpec, num_envs: int, steps_per_env: int) -> int:
    """Bytes `init_replay` allocates, from shapes alone."""
    shapes = jax.eval_shape(lambda: init_replay(spec, num_envs, steps_per_env))
    return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(shapes))
