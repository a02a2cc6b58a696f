"""Observation histories: the network sees the last N frames and the N actions that led to them.

MuZero on Atari (appendix F) feeds the representation the last 32 RGB frames and the 32
actions that led to them, each action as a constant plane scaled by a / num_actions;
EfficientZero stacks 4 frames without action planes. Environments hand the loop single frames;
the replay stores each frame once and rebuilds histories at sample time (`from_replay`), and
the actors keep a rolling `History` of their own (`push`). Both end in `stack`, so the two
views are equal by construction (tests/replay/test_history.py checks it).

Frames before an episode's first frame are zeros and their action planes zero, so a history
never mixes two episodes. With N = 1 and no action planes `stack` returns the frame itself,
which is how board games and MinAtar run.

uint8 frames are pixels: the stacked observation stays uint8 (a 32-frame RGB history of a
1024 batch is 1.2 GB as uint8, 4.8 GB as float32) and action planes are coded
round(255 (a + 1) / A); the representation network scales uint8 input by 1/255.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from flax import struct

from muzero.config import Config
from muzero.types import Array, EnvSpec

NO_ACTION = -1  # the action "that led to" an episode's first frame, or to a missing frame


class History(struct.PyTreeNode):
    """The rolling history of a batch of environments, oldest first."""

    frames: Array  # [B, N, *F] the last N frames (zeros before the episode's first)
    actions: Array  # [B, N] int32, the action that led to each frame (NO_ACTION if none)


def init_history(num_envs: int, num_frames: int, frame_shape: tuple, dtype) -> History:
    return History(
        frames=jnp.zeros((num_envs, num_frames, *frame_shape), dtype),
        actions=jnp.full((num_envs, num_frames), NO_ACTION, jnp.int32),
    )


def push(history: History, frame: Array, action: Array, episode_start: Array) -> History:
    """Append `frame` [B, *F], reached by `action` [B]; `episode_start` [B] clears the past."""
    keep = ~episode_start
    frames = jnp.concatenate([history.frames[:, 1:], frame[:, None]], axis=1)
    actions = jnp.concatenate(
        [history.actions[:, 1:], jnp.where(keep, action, NO_ACTION)[:, None]], axis=1
    )
    # At an episode start only the newest frame survives.
    num_frames = frames.shape[1]
    older = jnp.arange(num_frames) < num_frames - 1  # [N]
    cleared = keep[:, None] | ~older[None, :]  # [B, N]
    frames = jnp.where(cleared.reshape(cleared.shape + (1,) * (frames.ndim - 2)), frames, 0)
    actions = jnp.where(cleared, actions, NO_ACTION)
    return History(frames=frames.astype(history.frames.dtype), actions=actions)


def stack(history: History, num_actions: int, action_planes: bool) -> Array:
    """[B, N, *F] frames and [B, N] actions -> the network's observation [B, *O].

    Frames [H, W, C] give [H, W, N*C (+ N)]; vector frames [D] give [N*D (+ N)].
    """
    frames, actions = history.frames, history.actions
    batch, num_frames = frames.shape[:2]
    if num_frames == 1 and not action_planes:
        return frames[:, 0]
    if frames.ndim == 5:  # [B, N, H, W, C] -> [B, H, W, N*C]
        height, width = frames.shape[2:4]
        planes = jnp.moveaxis(frames, 1, 3).reshape(batch, height, width, -1)
    else:
        planes = frames.reshape(batch, -1)
    if not action_planes:
        return planes
    code = encode_actions(actions, num_actions, planes.dtype)  # [B, N]
    if frames.ndim == 5:
        code = jnp.broadcast_to(code[:, None, None, :], (batch, height, width, num_frames))
    return jnp.concatenate([planes, code], axis=-1)


def encode_actions(actions: Array, num_actions: int, dtype) -> Array:
    """Action planes' values: (a + 1) / A (0 for NO_ACTION), as uint8 * 255 for pixel input."""
    scaled = jnp.where(actions == NO_ACTION, 0.0, (actions + 1) / num_actions)
    if dtype == jnp.uint8:
        return jnp.round(scaled * 255).astype(jnp.uint8)
    return scaled.astype(dtype)


def stacked_shape(
    frame_shape: tuple[int, ...], num_frames: int, action_planes: bool
) -> tuple[int, ...]:
    """Shape of `stack`'s output for one environment."""
    if num_frames == 1 and not action_planes:
        return tuple(frame_shape)
    extra = num_frames if action_planes else 0
    if len(frame_shape) == 3:
        height, width, channels = frame_shape
        return (height, width, num_frames * channels + extra)
    size = 1
    for d in frame_shape:
        size *= d
    return (num_frames * size + extra,)


def stacked_dtype(frame_dtype, num_frames: int, action_planes: bool):
    """uint8 pixels stay uint8; anything else stacked with action planes becomes float32."""
    if jnp.dtype(frame_dtype) == jnp.uint8 or (num_frames == 1 and not action_planes):
        return jnp.dtype(frame_dtype)
    return jnp.dtype(jnp.float32) if action_planes else jnp.dtype(frame_dtype)


def from_replay(
    frames: Array,
    actions: Array,
    episode_end: Array,
    absolute: Array,
    rows: Array,
    slots: Array,
    num_frames: int,
) -> History:
    """Rebuild the histories of replay positions from frames stored once.

    frames [E, L, *F], actions [E, L], episode_end [E, L] (terminated | truncated of each
    record), absolute [L] the absolute time of each slot; rows, slots [B] the positions.
    The history of position t holds frames t-N+1 .. t of the same episode: record j ended its
    episode if episode_end[j], so frame j+1 began a new one.
    """
    length = frames.shape[1]
    offsets = jnp.arange(-num_frames, 1)  # [N+1]: -N .. 0
    window = (slots[:, None] + offsets[None, :]) % length  # [B, N+1]
    r = rows[:, None]
    ended = episode_end[r, window[:, :-1]]  # [B, N] records t-N .. t-1
    # started_after[b, i]: an episode ended at record t-N+i or later (before t), i.e. the frame
    # at t-N+i belongs to an earlier episode than t's.
    started_after = jnp.flip(jnp.cumsum(jnp.flip(ended, axis=1), axis=1) > 0, axis=1)
    time = absolute[slots][:, None] + offsets[None, :]  # [B, N+1]
    # Frame k (k = 0..N-1) sits at offset k - N + 1; it is in t's episode if no record from it
    # up to t - 1 ended an episode (offset 0 is t itself).
    frame_in = jnp.concatenate([~started_after[:, 1:], jnp.ones_like(ended[:, :1])], axis=1)
    frame_in = frame_in & (time[:, 1:] >= 0)
    # The action that led to frame k is the record before it, if that record did not end an
    # episode (then frame k would be the episode's first).
    action_in = frame_in & ~ended & (time[:, :-1] >= 0)
    got_frames = frames[r, window[:, 1:]]  # [B, N, *F]
    mask = frame_in.reshape(frame_in.shape + (1,) * (got_frames.ndim - 2))
    return History(
        frames=jnp.where(mask, got_frames, 0).astype(frames.dtype),
        actions=jnp.where(action_in, actions[r, window[:, :-1]], NO_ACTION),
    )


def network_spec(spec: EnvSpec, config: Config) -> EnvSpec:
    """The spec the networks see: observations stacked into histories (`muzero.replay.history`)."""
    h = config.history
    return dataclasses.replace(
        spec,
        observation_shape=stacked_shape(spec.observation_shape, h.frames, h.action_planes),
        observation_dtype=np.dtype(
            stacked_dtype(spec.observation_dtype, h.frames, h.action_planes)
        ),
    )
