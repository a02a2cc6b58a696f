"""Environment adapters behind one time-step contract (see `envs.core`).

JAX environments (pgx, gymnax, and those registered with `host=False`) are pure `Env`s that
the device actor scans; host environments (Atari `ALE/...`, and gymnasium environments
registered with `host=True`) are batches stepped on the CPU by the host actor
(`envs.gymnasium_env.HostEnv`). `spec` answers for both without starting anything heavy.

Your own environment joins by code, never by a name in a data file: `register(env_id,
factory, host=...)` in the module that defines it (examples/jax_env.py,
examples/gymnasium_env.py), and that module imported before the id is used. The registry is
a plain dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from envs.core import Env, TimeStep
from envs.gymnax_env import make_gymnax
from envs.pgx_env import make_pgx
from muzero.types import EnvSpec


class Registered(NamedTuple):
    factory: Callable[[], Any]  # () -> Env (JAX) or () -> one gymnasium.Env (host)
    host: bool


_REGISTERED: dict[str, Registered] = {}


def register(env_id: str, factory: Callable[[], Any], *, host: bool) -> None:
    """Make `env_id` known to the loop (`env.id`), by the code that defines the environment.

    host=False: `factory() -> Env`, pure `reset(key)` / `step(state, action, key)` functions
    returning `TimeStep`s; the device actor vmaps and scans them (one- or two-player).
    host=True: `factory() -> gymnasium.Env`, one copy; the host actor steps `actor.num_envs`
    of them on the CPU (single-player; `envs.gymnasium_env` says what it needs).

    Registering an id again replaces its factory (a module imported anew); the ids of pgx,
    gymnax and ALE are refused (ValueError), so a registration never hides one of them.
    """
    from envs import atari, gymnax_env, pgx_env

    builtin = pgx_env.available() + gymnax_env.available()
    if env_id.startswith(atari.PREFIX) or env_id in builtin:
        raise ValueError(f"env id {env_id!r} is taken by a built-in environment; pick another")
    _REGISTERED[env_id] = Registered(factory=factory, host=host)


def known_env_ids() -> tuple[str, ...]:
    """Every id the loop accepts: pgx games, gymnax ids with discrete actions, ALE games and
    the registered ids."""
    from envs import atari, gymnax_env, pgx_env

    return pgx_env.available() + gymnax_env.available() + atari.available() + tuple(_REGISTERED)


def canonical_id(env_id: str) -> str:
    """The spelling the loop knows: Atari games by their ALE name (ALE/ms_pacman ->
    ALE/MsPacman; an unknown game raises ValueError), every other id unchanged."""
    from envs import atari

    return atari.game_id(env_id) if is_atari(env_id) else env_id


def is_atari(env_id: str) -> bool:
    """True for ALE games (Atari scores, raw-frame preprocessing)."""
    from envs import atari

    return env_id.startswith(atari.PREFIX)


def is_host_env(env_id: str) -> bool:
    """True for environments stepped on the host (Atari, registered gymnasium environments),
    False for JAX environments."""
    if env_id in _REGISTERED:
        return _REGISTERED[env_id].host
    return is_atari(env_id)


def make(env_id: str) -> Env:
    """Build the pure adapter for a pgx id (`tic_tac_toe`), a gymnax id (`CartPole-v1`) or a
    registered JAX environment."""
    from envs import atari, gymnax_env, pgx_env

    if env_id in pgx_env.available():
        return make_pgx(env_id)
    if env_id in gymnax_env.available():
        return make_gymnax(env_id)
    if env_id in atari.available() or is_host_env(env_id):
        raise ValueError(f"{env_id} is a host environment: use envs.make_host")
    if env_id in _REGISTERED:
        env = _REGISTERED[env_id].factory()
        if not isinstance(env, Env):
            raise TypeError(f"the factory registered for {env_id!r} returned {type(env)}, not Env")
        return env
    raise ValueError(f"unknown env.id {env_id!r}; known: {', '.join(known_env_ids())}")


def make_host(env_config, num_envs: int, seed: int, noop_max: int | None = None):
    """A batch of host environments (Atari or a registered gymnasium environment) built from
    an `EnvConfig`; `noop_max` (Atari only) overrides `env_config.noop_max`."""
    from envs.atari import make_atari
    from envs.gymnasium_env import make_gymnasium

    entry = _REGISTERED.get(env_config.id)
    if entry is None:
        return make_atari(env_config, num_envs, seed, noop_max=noop_max)
    if not entry.host:
        raise ValueError(f"{env_config.id} is a JAX environment: use envs.make")
    return make_gymnasium(env_config.id, entry.factory, num_envs, seed)


def spec(env_config) -> EnvSpec:
    """The spec of the environment an `EnvConfig` names."""
    entry = _REGISTERED.get(env_config.id)
    if entry is not None and entry.host:
        from envs.gymnasium_env import gymnasium_spec

        return gymnasium_spec(env_config.id, entry.factory)
    if is_atari(env_config.id):
        from envs.atari import atari_spec

        return atari_spec(env_config)
    return make(env_config.id).spec


__all__ = [
    "Env", "TimeStep", "make", "make_host", "spec", "is_host_env", "is_atari", "known_env_ids",
    "canonical_id", "register",
]  # fmt: skip
