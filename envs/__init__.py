"""Environment adapters behind one time-step contract (see `envs.core`)."""

from __future__ import annotations

from envs.core import Env, TimeStep
from envs.gymnax_env import make_gymnax
from envs.pgx_env import make_pgx


def known_env_ids() -> tuple[str, ...]:
    """Every id `make` accepts: pgx game ids and gymnax ids with discrete actions."""
    from envs import gymnax_env, pgx_env

    return pgx_env.available() + gymnax_env.available()


def make(env_id: str) -> Env:
    """Build the adapter for a pgx id (`tic_tac_toe`) or a gymnax id (`CartPole-v1`)."""
    from envs import gymnax_env, pgx_env

    if env_id in pgx_env.available():
        return make_pgx(env_id)
    if env_id in gymnax_env.available():
        return make_gymnax(env_id)
    raise ValueError(f"unknown env.id {env_id!r}; known: {', '.join(known_env_ids())}")


__all__ = ["Env", "TimeStep", "make", "known_env_ids"]
