"""Atari 2600 games from raw pixels through ale-py's vector environment (a host environment).

`ale_py.vector_env.AtariVectorEnv` steps a batch of emulators in C++ threads and does the
frame-level preprocessing itself (../shared/STACK_NOTES.md). Settings follow the MuZero paper
(appendix F / Machado et al. 2018), each a field of `EnvConfig`:

- frame skip 4, the observation the max over the last two emulator frames;
- sticky actions with probability 0.25; the minimal action set unless `full_action_space`;
- 96x96 RGB frames (grayscale optional); rewards not clipped (the value transform handles
  scale); episodes cut at 27,000 agent steps (108,000 frames), reported as truncated;
- up to 30 no-op actions at the start of every episode;
- no life-loss episodes and no automatic FIRE at reset: the agent is told nothing about the
  game beyond frames, rewards and episode ends.

One frame per step is returned (the loop keeps the history, `muzero.replay.history`). Finished games
restart in the same step (the returned observation is the new episode's first frame while
reward and flags belong to the finished one), which is what the device actor does for JAX
environments.
"""

from __future__ import annotations

import functools

import numpy as np

from envs.gymnasium_env import HostEnv
from muzero.types import EnvSpec

PREFIX = "ALE/"
RAW_ATARI_SHAPE = (210, 160, 3)  # what gymnasium's ALE environments return


def _camel(rom: str) -> str:
    return "".join(part.capitalize() for part in rom.split("_"))


@functools.cache
def _roms() -> dict[str, str]:
    """'ALE/MsPacman' -> 'ms_pacman' for every ROM shipped in the ale-py wheel."""
    from ale_py import roms

    return {PREFIX + _camel(rom): rom for rom in roms.get_all_rom_ids()}


def available() -> tuple[str, ...]:
    return tuple(sorted(_roms()))


def game_id(game: str) -> str:
    """'Breakout', 'breakout', 'ms_pacman', 'MsPacman' or 'ALE/Pong' -> the env id 'ALE/...'."""
    name = game[len(PREFIX) :] if game.startswith(PREFIX) else game
    candidate = PREFIX + (_camel(name) if name.islower() or "_" in name else name)
    if candidate not in _roms():
        raise ValueError(f"unknown Atari game {game!r}; known: {', '.join(available())}")
    return candidate


def rom_id(game: str) -> str:
    """'ALE/MsPacman', 'MsPacman' or 'ms_pacman' -> ale-py's ROM id 'ms_pacman'."""
    return _roms()[game_id(game)]


def _single_frames(frames: np.ndarray) -> np.ndarray:
    """[E, 1, H, W(, 3)] (a stack of one) -> [E, H, W, C]."""
    frames = frames[:, 0]
    return frames[..., None] if frames.ndim == 3 else frames


def make_atari(env_config, num_envs: int, seed: int, noop_max: int | None = None) -> HostEnv:
    """A batch of `num_envs` ALE games: the generic host adapter (`envs.gymnasium_env`) around
    ale-py's vector env, whose `send` returns at once while the emulators run in C++ threads,
    so the caller can search for another batch meanwhile. ALE gives no action mask: every
    action of the (minimal or full) set is legal."""
    from ale_py.vector_env import AtariVectorEnv

    c = env_config
    vec = AtariVectorEnv(
        _roms()[c.id],
        num_envs,
        num_threads=c.env_threads,
        frameskip=c.frame_skip,
        maxpool=True,
        repeat_action_probability=c.sticky_action_prob,
        full_action_space=c.full_action_space,
        img_height=c.frame_size,
        img_width=c.frame_size,
        grayscale=c.grayscale,
        stack_num=1,
        noop_max=c.noop_max if noop_max is None else noop_max,
        max_num_frames_per_episode=c.max_episode_steps * c.frame_skip,
        episodic_life=False,
        reward_clipping=False,
        use_fire_reset=False,
        autoreset_mode="SameStep",
    )
    spec = atari_spec(c, int(vec.single_action_space.n))
    return HostEnv(vec, spec, seed, observation=_single_frames)


@functools.cache
def _num_actions(rom: str, full_action_space: bool) -> int:
    from ale_py import ALEInterface, LoggerMode, roms

    if full_action_space:
        return 18
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.loadROM(roms.get_rom_path(rom))
    return len(ale.getMinimalActionSet())


def atari_spec(env_config, num_actions: int | None = None) -> EnvSpec:
    """The spec from the config alone (no emulator batch is started)."""
    c = env_config
    if num_actions is None:
        num_actions = _num_actions(_roms()[c.id], c.full_action_space)
    channels = 1 if c.grayscale else 3
    return EnvSpec(
        name=c.id,
        num_actions=num_actions,
        observation_shape=(c.frame_size, c.frame_size, channels),
        observation_dtype=np.dtype(np.uint8),
        num_players=1,
    )


@functools.cache
def _area_weights(size_in: int, size_out: int) -> np.ndarray:
    """[out, in] weights of an area (box) resize: each output pixel averages the input pixels
    its footprint covers, in proportion to the overlap."""
    scale = size_in / size_out
    weights = np.zeros((size_out, size_in))
    for i in range(size_out):
        low, high = i * scale, (i + 1) * scale
        for j in range(int(np.floor(low)), min(int(np.ceil(high)), size_in)):
            weights[i, j] = max(0.0, min(high, j + 1) - max(low, j))
    return weights / weights.sum(axis=1, keepdims=True)


def preprocess_frame(raw: np.ndarray, size: int, grayscale: bool) -> np.ndarray:
    """A raw ALE RGB frame [210, 160, 3] -> [size, size, C] uint8 as the vector env makes it:
    an area resize (equal to ale-py's own output, tests/environments/test_atari.py) and, for
    grayscale, ITU-R 601 luma."""
    image = np.asarray(raw, np.float64)
    if grayscale:
        image = image @ np.array([0.299, 0.587, 0.114])
        image = image[..., None]
    rows = _area_weights(image.shape[0], size)
    cols = _area_weights(image.shape[1], size)
    resized = np.einsum("ih,jw,hwc->ijc", rows, cols, image, optimize=True)
    return np.clip(np.round(resized), 0, 255).astype(np.uint8)
