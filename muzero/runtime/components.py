"""What a run is built from: `build(config)` makes every static part once, checked against the
environment before anything compiles; `init_state` makes the state a checkpoint holds."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh

import envs
from muzero.acting.device_actor import ActFn, init_actor, make_act_fn
from muzero.config import Config
from muzero.evaluation.episodes import make_single_player_eval
from muzero.evaluation.opponents import check_opponent_name, make_opponent
from muzero.evaluation.players import Player
from muzero.learning.learner import (
    LearnShardings,
    UpdateFn,
    init_train_state,
    make_learn_fn,
    make_optimizer,
    make_update_fn,
)
from muzero.model.networks import Model, make_model
from muzero.replay import buffer as replay_lib
from muzero.replay.history import network_spec
from muzero.runtime import memory, sharding
from muzero.search.policy import SearchFn, make_search_fn
from muzero.types import EnvSpec, Params, PRNGKey


@dataclasses.dataclass(frozen=True)
class Components:
    """Everything static that a run closes over: built once from the config, never changed."""

    config: Config
    spec: EnvSpec  # the environment's own spec (single frames)
    env: envs.Env | None  # the pure adapter of a JAX environment; None for host envs (Atari)
    model: Model
    search: SearchFn  # self-play search, un-jitted (the host actor jits its own step around it)
    act: ActFn | None  # jitted device actor; None for host envs
    add: Callable[[replay_lib.ReplayState, replay_lib.Trajectory], replay_lib.ReplayState]
    learn: UpdateFn  # U updates per call (`muzero.learning.learner.make_learn_fn`)
    eval_search: SearchFn  # jitted greedy search (no root noise), on stacked observations
    # jitted (params, key) -> returns [N] of N greedy episodes (single-player JAX envs), or None
    eval_episodes: Callable[[Params, PRNGKey], jax.Array] | None
    opponents: Mapping[str, Player]  # two-player games: eval.opponents, built once
    mesh: Mesh  # the run.devices the batch and the replay are split over (one axis, "data")

    @property
    def host(self) -> bool:
        return self.env is None


def _own(fn):
    """A fresh function object around `fn`: jit caches by function, so each run's jitted
    functions count only their own compilations (tests/runtime/test_training.py checks one each)."""

    def wrapped(*args):
        return fn(*args)

    wrapped.__name__ = fn.__name__
    return wrapped


def build(config: Config, num_strata: int | None = None) -> Components:
    """Every static part of a run, checked against the environment before any compile. The
    learner samples in `num_strata` strata (`muzero.replay.buffer.Strata`): by default one per
    device of the mesh; a test sets it to draw a several-device batch on one."""
    check_env_id(config.env.id)
    spec = envs.spec(config.env)
    validate_against_env(config, spec)
    sharding.check_devices(config)
    mesh = sharding.make_mesh(config)
    env = None if envs.is_host_env(config.env.id) else envs.make(config.env.id)
    net_spec = network_spec(spec, config)
    model = make_model(config.network, net_spec)
    optimizer = make_optimizer(config)
    search = make_search_fn(model, config, net_spec)
    update = make_update_fn(
        model,
        optimizer,
        config,
        net_spec,
        batch_sharding=sharding.batch_sharded(mesh),
        num_strata=num_strata or mesh.devices.size,
    )
    placed = LearnShardings(sharding.replicated(mesh), sharding.replay_shardings(mesh))
    eval_search = make_search_fn(
        model, config, net_spec, evaluation=True, num_simulations=config.eval_simulations
    )
    single_player_eval = env is not None and not spec.two_player
    return Components(
        config=config,
        spec=spec,
        env=env,
        model=model,
        search=search,
        act=None
        if env is None
        else jax.jit(make_act_fn(env, search, config), out_shardings=sharding.act_shardings(mesh)),
        add=jax.jit(_own(replay_lib.add), donate_argnums=0, out_shardings=placed.replay),
        learn=make_learn_fn(update, config.learner.updates_per_iteration, placed),
        eval_search=jax.jit(eval_search),
        eval_episodes=jax.jit(
            make_single_player_eval(env, eval_search, config.eval.num_games, config)
        )
        if single_player_eval
        else None,
        opponents={name: make_opponent(name, spec.name) for name in config.eval.opponents}
        if spec.two_player
        else {},
        mesh=mesh,
    )


def check_env_id(env_id: str) -> None:
    """`env.id` must name a known environment, spelled as the loop knows it (ValueError)."""
    canonical = envs.canonical_id(env_id)  # an unknown Atari game fails here, by name
    if canonical != env_id:
        raise ValueError(f"env.id {env_id!r} is spelled {canonical!r}")
    known = envs.known_env_ids()
    if env_id not in known:
        raise ValueError(
            f"env.id {env_id!r} is not a known environment (your own must be registered first, "
            f"with envs.register, see examples/); known: {', '.join(known)}"
        )


def check_config(config: Config) -> EnvSpec:
    """Every check that needs the environment, without compiling anything (ValueError);
    returns the environment's spec."""
    check_env_id(config.env.id)
    spec = envs.spec(config.env)
    validate_against_env(config, spec)
    sharding.check_devices(config)
    memory.check_replay_fits(config, spec)
    return spec


def validate_against_env(config: Config, spec: EnvSpec) -> None:
    """Checks that need the environment's sizes (not the replay's memory, which only training
    allocates); still before anything compiles."""
    torso = config.network.torso
    if torso.startswith("resnet") and len(spec.observation_shape) not in (1, 3):
        raise ValueError(
            f"network.torso {torso!r} needs [H, W, C] observations; {spec.name} "
            f"has shape {spec.observation_shape}"
        )
    if spec.two_player:
        if config.history.frames > 1 or config.history.action_planes:
            raise ValueError(
                f"history.frames > 1 and history.action_planes are for single-player "
                f"environments; {spec.name} is a two-player game (its observation is the "
                "position)"
            )
        for name in config.eval.opponents:
            check_opponent_name(name, spec.name, spec.name in envs.pgx_env.available())


COUNTERS = ("iterations", "env_steps", "episodes", "updates", "steps_written")


def init_state(c: Components, seed: int) -> dict[str, Any]:
    """The whole training state: what a checkpoint holds."""
    cfg = c.config
    k_params, k_actor, k_loop = jax.random.split(jax.random.key(seed), 3)
    return {
        "train_state": init_train_state(
            c.model, make_optimizer(cfg), k_params, cfg.reanalyze.uses_target_network
        ),
        "replay": replay_lib.init_replay(c.spec, cfg.actor.num_envs, cfg.replay_steps_per_env),
        # Host environments (Atari) restart their episodes on resume: nothing to keep.
        "actor": {} if c.host else init_actor(c.env, cfg, k_actor),
        "key": jax.random.key_data(k_loop),
        "counters": {name: np.zeros((), np.int64) for name in COUNTERS},
        "elapsed_s": np.zeros((), np.float64),
    }
