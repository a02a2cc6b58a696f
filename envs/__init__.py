"""Environment adapters behind one time-step contract (see `envs.core`).

JAX environments (pgx, gymnax) are pure `Env`s that the device actor scans; Atari (`ALE/...`)
is a host environment (`envs.atari.AtariEnv`) stepped by the host actor. `spec` answers for
both without starting anything heavy.
"""

from __future__ import annotations

from envs.core import Env, TimeStep
from envs.gymnax_env import make_gymnax
from envs.pgx_env import make_pgx
from muzero.types import EnvSpec


def known_env_ids() -> tuple[str, ...]:
    """Every id the loop accepts: pgx games, gymnax ids with discrete actions, ALE games."""
    from envs import atari, gymnax_env, pgx_env

    return pgx_env.available() + gymnax_env.available() + atari.available()


def canonical_id(env_id: str) -> str:
    """The spelling the loop knows: Atari games by their ALE name (ALE/ms_pacman ->
    ALE/MsPacman; an unknown game raises ValueError), every other id unchanged."""
    from envs import atari

    return atari.game_id(env_id) if env_id.startswith(atari.PREFIX) else env_id


def is_host_env(env_id: str) -> bool:
    """True for environments stepped on the host (Atari), False for JAX environments."""
    from envs import atari

    return env_id.startswith(atari.PREFIX)


def make(env_id: str) -> Env:
    """Build the pure adapter for a pgx id (`tic_tac_toe`) or a gymnax id (`CartPole-v1`)."""
    from envs import atari, gymnax_env, pgx_env

    if env_id in pgx_env.available():
        return make_pgx(env_id)
    if env_id in gymnax_env.available():
        return make_gymnax(env_id)
    if env_id in atari.available():
        raise ValueError(f"{env_id} is a host environment: use envs.make_host")
    raise ValueError(f"unknown env.id {env_id!r}; known: {', '.join(known_env_ids())}")


def make_host(env_config, num_envs: int, seed: int, noop_max: int | None = None):
    """A batch of host environments (Atari) built from an `EnvConfig`."""
    from envs.atari import AtariEnv

    return AtariEnv(env_config, num_envs, seed, noop_max=noop_max)


def spec(env_config) -> EnvSpec:
    """The spec of the environment an `EnvConfig` names."""
    if is_host_env(env_config.id):
        from envs.atari import atari_spec

        return atari_spec(env_config)
    return make(env_config.id).spec


__all__ = [
    "Env", "TimeStep", "make", "make_host", "spec", "is_host_env", "known_env_ids", "canonical_id"
]  # fmt: skip
