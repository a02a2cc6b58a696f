"""What the agent plays and what it sees of it: the environment and the observation history."""

from __future__ import annotations

import dataclasses

from muzero.config.checks import at_least, check


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """Which environment to play; the remaining fields apply to Atari (ALE/...) only."""

    id: str = "tic_tac_toe"
    """A pgx game id (tic_tac_toe, connect_four, go_9x9, ...), a gymnax id (CartPole-v1,
    Breakout-MinAtar, ...), an Atari game ALE/<Game> (ALE/Pong, ALE/MsPacman, ...) or an id
    registered with envs.register (examples/jax_env.py, examples/gymnasium_env.py)."""
    frame_skip: int = 4
    """Atari: emulator frames per agent step; the observation is the max of the last two."""
    sticky_action_prob: float = 0.25
    """Atari: probability that the emulator repeats the previous action (Machado et al. 2018)."""
    full_action_space: bool = False
    """Atari: all 18 joystick actions instead of the game's minimal set."""
    frame_size: int = 96
    """Atari: frames are resized to frame_size x frame_size (MuZero: 96)."""
    grayscale: bool = False
    """Atari: one grayscale channel instead of RGB."""
    max_episode_steps: int = 27_000
    """Atari: agent steps before an episode is truncated (27,000 = 108,000 frames)."""
    noop_max: int = 30
    """Atari: each episode starts with a random number (0 to noop_max) of no-op actions."""
    env_threads: int = 0
    """Atari: emulator threads; 0 = one per CPU core."""

    def __post_init__(self) -> None:
        # Whether the id names a known environment is checked with the environments, before
        # anything compiles (`muzero.runtime.components.check_config`): the config tree
        # imports no environment library.
        check(bool(self.id), "env.id", "must name an environment", self.id)
        at_least(self, "env", 1, "frame_skip")
        check(
            0 <= self.sticky_action_prob <= 1,
            "env.sticky_action_prob",
            "must be in [0, 1]",
            self.sticky_action_prob,
        )
        at_least(self, "env", 8, "frame_size")
        at_least(self, "env", 1, "max_episode_steps")
        at_least(self, "env", 0, "noop_max", "env_threads")


@dataclasses.dataclass(frozen=True)
class HistoryConfig:
    """What the representation network sees: the last frames and the actions between them."""

    frames: int = 1
    """Frames in the observation history: MuZero's Atari setting is 32, EfficientZero's 4;
    1 = the current observation only."""
    action_planes: bool = False
    """Add one plane per frame holding the action that led to it, scaled (a + 1) / A (MuZero
    appendix F)."""

    def __post_init__(self) -> None:
        at_least(self, "history", 1, "frames")
