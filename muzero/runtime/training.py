"""`run(config)`: the one place that orchestrates act, store, sample, update, log, checkpoint,
evaluate.

Each iteration is a few jitted calls with static shapes, compiled once:
  act   (search + env step scanned over T steps of E environments, on the device)
  add   (append the [T, E] chunk to the replay ring)
  learn (U jitted updates: sample, loss, optimizer step, priority write-back)
Metrics stay on the device until a log interval.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import envs
from muzero.acting.device_actor import init_actor, make_act_fn
from muzero.acting.host_actor import HostActor, make_policy_step, mark_interrupted
from muzero.config import Config, from_dict, to_dict
from muzero.evaluation.matches import evaluate, make_single_player_eval
from muzero.evaluation.opponents import Player, check_opponent_name, make_opponent
from muzero.learning.learner import init_train_state, make_learn_fn, make_optimizer, make_update_fn
from muzero.model.networks import make_model
from muzero.replay import buffer as replay_lib
from muzero.replay.history import stacked_dtype, stacked_shape
from muzero.runtime import checkpointing, memory
from muzero.runtime.loggers import MetricsLogger
from muzero.runtime.plots import plot_run
from muzero.runtime.progress import ProgressDisplay
from muzero.search.policy import make_search_fn
from muzero.types import EnvSpec


@dataclasses.dataclass
class Components:
    """Everything static that a run closes over: built once from the config."""

    config: Config
    spec: EnvSpec  # the environment's own spec (single frames)
    env: envs.Env | None  # the pure adapter of a JAX environment; None for host envs (Atari)
    model: Any
    search: Any  # self-play search, un-jitted (the host actor jits its own step around it)
    act: Any  # jitted device actor; None for host envs
    add: Any
    learn: Any
    eval_search: Any  # jitted greedy search (no root noise), on stacked observations
    eval_episodes: Any  # jitted (params, key) -> returns [N] of N greedy episodes (JAX envs)
    eval_step: Any  # jitted greedy policy step of the host evaluation (host envs)
    opponents: dict[str, Player]  # two-player games: eval.opponents, built once

    @property
    def host(self) -> bool:
        return self.env is None


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


def _own(fn):
    """A fresh function object around `fn`: jit caches by function, so each run's jitted
    functions count only their own compilations (tests/test_training.py checks one each)."""

    def wrapped(*args):
        return fn(*args)

    wrapped.__name__ = fn.__name__
    return wrapped


def build(config: Config) -> Components:
    spec = envs.spec(config.env)
    validate_against_env(config, spec)
    env = None if envs.is_host_env(config.env.id) else envs.make(config.env.id)
    net_spec = network_spec(spec, config)
    model = make_model(config.network, net_spec)
    optimizer = make_optimizer(config)
    search = make_search_fn(model, config, net_spec)
    update = make_update_fn(model, optimizer, config, net_spec)
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
        act=None if env is None else jax.jit(make_act_fn(env, search, config)),
        add=jax.jit(_own(replay_lib.add), donate_argnums=0),
        learn=make_learn_fn(update, config.learner.updates_per_iteration),
        eval_search=jax.jit(eval_search),
        eval_episodes=jax.jit(
            make_single_player_eval(env, eval_search, config.eval.num_games, config)
        )
        if single_player_eval
        else None,
        eval_step=jax.jit(make_policy_step(eval_search, config, spec, greedy=True))
        if env is None
        else None,
        opponents={name: make_opponent(name, spec.name) for name in config.eval.opponents}
        if spec.two_player
        else {},
    )


def check_config(config: Config) -> None:
    """Every check that needs the environment, without compiling anything (ValueError)."""
    spec = envs.spec(config.env)
    validate_against_env(config, spec)
    memory.check_replay_fits(config, spec)


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


def init_state(c: Components, seed: int) -> dict[str, Any]:
    """The whole training state: what a checkpoint holds."""
    cfg = c.config
    k_params, k_actor, k_loop = jax.random.split(jax.random.key(seed), 3)
    return {
        "train_state": init_train_state(c.model, make_optimizer(cfg), k_params),
        "replay": replay_lib.init_replay(c.spec, cfg.actor.num_envs, cfg.replay_steps_per_env),
        # Host environments (Atari) restart their episodes on resume: nothing to keep.
        "actor": {} if c.host else init_actor(c.env, cfg, k_actor),
        "key": jax.random.key_data(k_loop),
        "counters": {name: np.zeros((), np.int64) for name in COUNTERS},
        "elapsed_s": np.zeros((), np.float64),
    }


COUNTERS = ("iterations", "env_steps", "episodes", "updates", "steps_written")


def new_run_dir(config: Config) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = pathlib.Path(config.run.runs_dir) / config.preset / stamp
    suffix = 1
    while run_dir.exists():
        run_dir = run_dir.with_name(f"{stamp}-{suffix}")
        suffix += 1
    run_dir.mkdir(parents=True)
    return run_dir


def load_run_config(run_dir: pathlib.Path) -> Config:
    path = pathlib.Path(run_dir) / "config.json"
    if not path.exists():
        raise checkpointing.CheckpointError(f"{path} is missing: not a run directory")
    try:
        return from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError) as error:
        raise checkpointing.CheckpointError(f"{path} is unreadable: {error}") from error


def _should_stop(cfg: Config, counters: dict, elapsed: float) -> bool:
    r = cfg.run
    return (
        (r.time_budget_s > 0 and elapsed >= r.time_budget_s)
        or (r.max_env_steps > 0 and counters["env_steps"] >= r.max_env_steps)
        or (r.max_iterations > 0 and counters["iterations"] >= r.max_iterations)
    )


@dataclasses.dataclass
class _Loop:
    """What one training session carries from iteration to iteration."""

    train_state: Any
    replay: Any
    actor: Any
    key: jax.Array
    counters: dict[str, int]
    elapsed_before: float  # wall time of the sessions before this one (resume)
    elapsed: float

    def host_copy(self, pending_episodes: int) -> dict[str, Any]:
        """A host copy of the whole state: orbax may write it in the background while the next
        update donates (reuses) the device buffers."""
        counters = {k: np.asarray(v, np.int64) for k, v in self.counters.items()}
        counters["episodes"] = np.asarray(self.counters["episodes"] + pending_episodes, np.int64)
        return jax.tree.map(
            lambda x: np.array(x, copy=True),
            {
                "train_state": self.train_state,
                "replay": self.replay,
                "actor": self.actor,
                "key": jax.random.key_data(self.key),
                "counters": counters,
                "elapsed_s": np.asarray(self.elapsed, np.float64),
            },
        )


def _start_loop(c: Components, run_dir: pathlib.Path, start_step: int | None) -> _Loop:
    """A fresh state, or the one of the checkpoint at `start_step`."""
    state = init_state(c, c.config.run.seed)
    if start_step is not None:
        state = checkpointing.restore(run_dir, start_step, state)
    elapsed = float(state["elapsed_s"])
    return _Loop(
        train_state=state["train_state"],
        replay=state["replay"],
        actor=state["actor"],
        key=jax.random.wrap_key_data(jnp.asarray(state["key"])),
        counters={k: int(v) for k, v in state["counters"].items()},
        elapsed_before=elapsed,
        elapsed=elapsed,
    )


def _iterate(
    c: Components, loop: _Loop, host_actor: HostActor | None
) -> tuple[Any, Any, float, float]:
    """Act, store, and learn once the replay holds enough; returns (actor stats, learner
    metrics or None, acting seconds, learning seconds)."""
    cfg = c.config
    loop.key, k_act, k_learn = jax.random.split(loop.key, 3)
    t0 = time.perf_counter()
    if host_actor is not None:
        trajectory, stats = host_actor.act(loop.train_state.params, k_act)
    else:
        loop.actor, trajectory, stats = c.act(loop.train_state.params, loop.actor, k_act)
    jax.block_until_ready(trajectory)
    t1 = time.perf_counter()
    loop.replay = c.add(loop.replay, trajectory)
    counters = loop.counters
    counters["steps_written"] += cfg.actor.unroll_length
    counters["env_steps"] += cfg.actor.unroll_length * cfg.actor.num_envs
    # A position is sampled only once its unroll and n-step target are both written.
    lookahead = cfg.learner.unroll_steps + cfg.learner.td_steps
    valid_per_env = min(counters["steps_written"], cfg.replay_steps_per_env) - lookahead
    metrics = None
    t2 = time.perf_counter()
    if valid_per_env * cfg.actor.num_envs >= cfg.replay.min_size:
        loop.train_state, loop.replay, metrics = c.learn(loop.train_state, loop.replay, k_learn)
        jax.block_until_ready(loop.train_state)
        counters["updates"] += cfg.learner.updates_per_iteration
    counters["iterations"] += 1
    return stats, metrics, t1 - t0, time.perf_counter() - t2


def run(
    config: Config, resume: str | pathlib.Path | None = None, evaluate_at_end: bool = True
) -> pathlib.Path:
    """Train until the config's budget is spent; returns the run directory."""
    start_step = None
    if resume is not None:
        run_dir, start_step = checkpointing.resolve(pathlib.Path(resume))
        checkpointing.verify(run_dir, start_step)
    c = build(config)  # validates against the environment before any compile
    memory.check_replay_fits(config, c.spec)
    cfg = config
    if resume is None:
        run_dir = new_run_dir(cfg)
    (run_dir / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
    print(memory.replay_summary(cfg, c.spec), flush=True)

    loop = _start_loop(c, run_dir, start_step)
    counters = loop.counters
    host_actor = None
    if c.host:
        # Fresh emulator seeds per session, so a resumed run does not replay its first games.
        seed = cfg.run.seed + 7919 * counters["iterations"]
        host_actor = HostActor(cfg, c.spec, c.search, seed=seed)
        if start_step is not None:
            loop.replay = mark_interrupted(loop.replay)
    logger = MetricsLogger(
        run_dir, cfg.run.tensorboard, resume_env_steps=counters["env_steps"] if start_step else None
    )
    manager = checkpointing.make_manager(run_dir, cfg.run.checkpoints_to_keep)
    if start_step is None and cfg.run.snapshot_interval_s > 0:
        # The untrained network too: the first point of an Elo-over-training curve.
        checkpointing.save_snapshot(run_dir, 0, loop.train_state.params)
    progress = ProgressDisplay(
        cfg,
        enabled=cfg.run.progress,
        start_elapsed=loop.elapsed_before,
        start_env_steps=counters["env_steps"],
    )
    session_start = time.perf_counter()
    last = dict.fromkeys(("log", "eval", "checkpoint", "snapshot"), session_start)
    window = _Window(session_start, counters)
    timing = {"act_s": 0.0, "learn_s": 0.0}
    with progress:
        while not _should_stop(cfg, counters, loop.elapsed):
            stats, metrics, act_s, learn_s = _iterate(c, loop, host_actor)
            timing["act_s"] += act_s
            timing["learn_s"] += learn_s
            window.add(stats, metrics, act_s, learn_s)

            now = time.perf_counter()
            loop.elapsed = loop.elapsed_before + (now - session_start)
            _on_schedule(c, run_dir, loop, window, logger, manager, progress, last, now)
            progress.update(counters, loop.elapsed, None)

    row = window.flush(time.perf_counter(), counters, loop.elapsed)
    if row.get("actor/env_steps_per_s") is not None:
        logger.write(row)
    state = loop.host_copy(window.pending_episodes())
    checkpointing.save(manager, counters["iterations"], state, loop.train_state.params)
    if cfg.run.snapshot_interval_s > 0:
        checkpointing.save_snapshot(run_dir, counters["iterations"], loop.train_state.params)
    manager.wait_until_finished()
    manager.close()
    if host_actor is not None:
        host_actor.close()
    session_wall = time.perf_counter() - session_start
    summary = {
        "run_dir": str(run_dir),
        "elapsed_s": loop.elapsed,
        "session_wall_s": session_wall,
        **counters,
        **timing,
        "other_fraction": max(0.0, 1 - (timing["act_s"] + timing["learn_s"]) / session_wall),
    }
    _finish(c, run_dir, loop, logger, summary, evaluate_at_end)
    progress.print_summary(summary)
    return run_dir


def _on_schedule(
    c: Components,
    run_dir: pathlib.Path,
    loop: _Loop,
    window: _Window,
    logger: MetricsLogger,
    manager: Any,
    progress: ProgressDisplay,
    last: dict[str, float],
    now: float,
) -> None:
    """Log, evaluate, checkpoint and snapshot, each when its interval has passed since `last`."""
    cfg, counters, params = c.config, loop.counters, loop.train_state.params
    if now - last["log"] >= cfg.run.log_interval_s:
        row = window.flush(now, counters, loop.elapsed)
        logger.write(row)
        progress.update(counters, loop.elapsed, row)
        last["log"] = now
    if cfg.eval.interval_s > 0 and now - last["eval"] >= cfg.eval.interval_s:
        result = evaluate(c, params, cfg.run.seed + counters["iterations"])
        at = {"env_steps": counters["env_steps"], "elapsed_s": loop.elapsed}
        logger.write(at | result["metrics"])
        last["eval"] = time.perf_counter()
    if now - last["checkpoint"] >= cfg.run.checkpoint_interval_s:
        state = loop.host_copy(window.pending_episodes())
        checkpointing.save(manager, counters["iterations"], state, params)
        last["checkpoint"] = time.perf_counter()
    snapshot_every = cfg.run.snapshot_interval_s
    if snapshot_every > 0 and now - last["snapshot"] >= snapshot_every:
        checkpointing.save_snapshot(run_dir, counters["iterations"], params)
        last["snapshot"] = time.perf_counter()


def _finish(
    c: Components,
    run_dir: pathlib.Path,
    loop: _Loop,
    logger: MetricsLogger,
    summary: dict[str, Any],
    evaluate_at_end: bool,
) -> None:
    """The final evaluation, summary.json and the run's figure."""
    if evaluate_at_end:
        result = evaluate(c, loop.train_state.params, c.config.run.seed + 1)
        summary["eval"] = result["details"]
        logger.write(
            {
                "env_steps": loop.counters["env_steps"],
                "elapsed_s": loop.elapsed,
                **result["metrics"],
            }
        )
        (run_dir / "eval.json").write_text(json.dumps(result["details"], indent=2))
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    logger.close()
    plot_run(run_dir)


class _Window:
    """Device-side stats of the iterations since the last log row, reduced at flush time."""

    def __init__(self, start: float, counters: dict):
        self.reset(start, counters)

    def reset(self, start: float, counters: dict) -> None:
        self.start = start
        self.start_env_steps = counters["env_steps"]
        self.start_updates = counters["updates"]
        self.stats, self.metrics = [], []
        self.act_s = self.learn_s = 0.0

    def add(self, stats, metrics, act_s: float, learn_s: float) -> None:
        self.stats.append(stats)
        if metrics is not None:
            self.metrics.append(metrics)
        self.act_s += act_s
        self.learn_s += learn_s

    def pending_episodes(self) -> int:
        return int(sum(float(s.episodes) for s in self.stats))

    def flush(self, now: float, counters: dict, elapsed: float) -> dict[str, Any]:
        wall = max(now - self.start, 1e-9)
        row: dict[str, Any] = {
            "env_steps": counters["env_steps"],
            "iterations": counters["iterations"],
            "updates": counters["updates"],
            "elapsed_s": elapsed,
        }
        if self.stats:
            totals = jax.device_get(jax.tree.map(lambda *x: sum(x), *self.stats))
            counters["episodes"] += int(totals.episodes)
            row["episodes"] = counters["episodes"]
            if totals.episodes > 0:
                row["actor/episode_return"] = totals.return_sum / totals.episodes
                row["actor/episode_length"] = totals.length_sum / totals.episodes
            row["actor/env_steps_per_s"] = (counters["env_steps"] - self.start_env_steps) / wall
            row["learner/updates_per_s"] = (counters["updates"] - self.start_updates) / wall
            row["perf/act_fraction"] = self.act_s / wall
            row["perf/learn_fraction"] = self.learn_s / wall
            row["perf/other_fraction"] = max(0.0, 1 - (self.act_s + self.learn_s) / wall)
        if self.metrics:
            means = jax.device_get(jax.tree.map(lambda *x: sum(x) / len(x), *self.metrics))
            row.update({k: float(v) for k, v in means.items()})
        self.reset(now, counters)
        return row
