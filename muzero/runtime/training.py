"""`run(config)`: the one place that orchestrates act, store, sample, update, log, checkpoint,
evaluate.

Each iteration is a few jitted calls with static shapes, compiled once:
  act   (search + env step scanned over T steps of E environments, on the device)
  add   (append the [T, E] chunk to the replay ring)
  learn (U jitted updates: sample, loss, optimizer step, priority write-back)
Metrics stay on the device until a log interval.

A session (one process's share of a run; a resumed run has several) reads top to bottom:
`_open_session` builds the static `Components` and the services, `_iterate` is one iteration,
`_on_schedule` the periodic work (log, evaluate, checkpoint, snapshot), `_close_session` and
`_finish` the last checkpoint, evaluation and summary. What changes between iterations lives
in `_Loop`; everything else is frozen.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from muzero.acting.host_actor import HostActor, mark_interrupted
from muzero.config import Config
from muzero.evaluation.matches import evaluate
from muzero.evaluation.opponents import OpponentError
from muzero.runtime import checkpointing, memory, sharding
from muzero.runtime.components import Components, build, init_state
from muzero.runtime.loggers import MetricsLogger, MetricsWindow
from muzero.runtime.plots import plot_run
from muzero.runtime.runs import (
    check_resume_config,
    load_run_config,
    new_run_dir,
    write_run_config,
)
from muzero.runtime.stopping import StopSignals, check_finite


class Display(Protocol):
    """What the loop tells a live display (the command line's progress bar) as it goes."""

    def __enter__(self) -> Any: ...
    def __exit__(self, *exc: Any) -> None: ...
    def update(self, counters: dict[str, int], elapsed: float, row: dict | None) -> None: ...


class _NoDisplay:
    def __enter__(self) -> _NoDisplay:
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def update(self, counters: dict[str, int], elapsed: float, row: dict | None) -> None:
        pass


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
    # this session's seconds spent acting and learning, and when each periodic task last ran
    timing: dict[str, float] = dataclasses.field(default_factory=lambda: dict.fromkeys(
        ("act_s", "learn_s"), 0.0))  # fmt: skip
    last: dict[str, float] = dataclasses.field(default_factory=dict)

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
    state = sharding.place_state(state, c.mesh)
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


@dataclasses.dataclass(frozen=True)
class _Session:
    """The services of one session, opened once."""

    run_dir: pathlib.Path
    resumed: bool
    logger: MetricsLogger
    manager: Any  # orbax CheckpointManager
    display: Display
    host_actor: HostActor | None  # host environments (Atari) only
    start: float  # perf_counter at the first iteration


def run(
    config: Config,
    resume: str | pathlib.Path | None = None,
    evaluate_at_end: bool = True,
    *,
    display: Display | None = None,
) -> pathlib.Path:
    """Train until the config's budget is spent; returns the run directory. `display` is
    told the counters after every iteration and each log row (none by default)."""
    c, session, loop = _open_session(config, resume, display or _NoDisplay())
    window = MetricsWindow(session.start, loop.counters)
    try:
        with session.display, StopSignals() as signals:
            while signals.received is None and not _should_stop(
                config, loop.counters, loop.elapsed
            ):
                stats, metrics, act_s, learn_s = _iterate(c, loop, session.host_actor)
                loop.timing["act_s"] += act_s
                loop.timing["learn_s"] += learn_s
                window.add(stats, metrics, act_s, learn_s)
                now = time.perf_counter()
                loop.elapsed = loop.elapsed_before + (now - session.start)
                _on_schedule(c, session, loop, window, now)
                session.display.update(loop.counters, loop.elapsed, None)
            # A signal during the last iteration still gets its checkpoint written.
            summary = _close_session(c, session, loop, window)
            summary["stopped_by"] = signals.received
    except BaseException:
        _abandon_session(session)
        raise
    _finish(c, session, loop, summary, evaluate_at_end and signals.received is None)
    return session.run_dir


def _open_session(
    config: Config, resume: str | pathlib.Path | None, display: Display
) -> tuple[Components, _Session, _Loop]:
    """Check everything, then build the components, the run directory, the state (fresh or
    restored) and the session's services."""
    start_step = None
    if resume is not None:
        run_dir, start_step = checkpointing.resolve(pathlib.Path(resume))
        check_resume_config(load_run_config(run_dir), config)
        checkpointing.verify(run_dir, start_step)
    c = build(config)  # validates against the environment before any compile
    memory.check_replay_fits(config, c.spec)
    if resume is None:
        run_dir = new_run_dir(config)
        write_run_config(run_dir, config)
    loop = _start_loop(c, run_dir, start_step)
    if resume is not None:  # only once the restore has worked: a failed one changes nothing
        write_run_config(run_dir, config)
    host_actor = None
    if c.host:
        # Fresh emulator seeds per session, so a resumed run does not replay its first games.
        seed = config.run.seed + 7919 * loop.counters["iterations"]
        host_actor = HostActor(config, c.spec, c.search, seed=seed)
        if start_step is not None:
            loop.replay = mark_interrupted(loop.replay)
    resumed_at = loop.counters["env_steps"] if start_step else None
    logger = MetricsLogger(run_dir, config.run.tensorboard, resume_env_steps=resumed_at)
    checkpointing.remove_temporary(run_dir)  # what saves killed mid-write left
    manager = checkpointing.make_manager(run_dir, config.run.checkpoints_to_keep)
    if start_step is None and config.run.snapshot_interval_s > 0:
        # The untrained network too: the first point of an Elo-over-training curve.
        checkpointing.save_snapshot(run_dir, 0, loop.train_state.params)
    start = time.perf_counter()
    loop.last.update(dict.fromkeys(("log", "eval", "checkpoint", "snapshot"), start))
    loop.last["eval_mark"] = _env_step_mark(config, loop.counters)
    session = _Session(
        run_dir=run_dir,
        resumed=start_step is not None,
        logger=logger,
        manager=manager,
        display=display,
        host_actor=host_actor,
        start=start,
    )
    return c, session, loop


def _abandon_session(session: _Session) -> None:
    """A session ended by an error or a second Ctrl-C: let a save in flight finish (it holds
    a state from before the failure) and close the files, writing nothing new."""
    session.manager.wait_until_finished()
    session.manager.close()
    session.logger.close()
    if session.host_actor is not None:
        session.host_actor.close()


def _close_session(
    c: Components, session: _Session, loop: _Loop, window: MetricsWindow
) -> dict[str, Any]:
    """The last log row, checkpoint and snapshot; returns the session's summary."""
    counters, params = loop.counters, loop.train_state.params
    row = window.flush(time.perf_counter(), counters, loop.elapsed)
    if row.get("actor/env_steps_per_s") is not None:
        session.logger.write(row)
    check_finite(row, counters["updates"])
    state = loop.host_copy(window.pending_episodes())
    checkpointing.save(session.manager, counters["iterations"], state, params)
    if c.config.run.snapshot_interval_s > 0:
        keep = c.config.run.snapshots_to_keep
        checkpointing.save_snapshot(session.run_dir, counters["iterations"], params, keep=keep)
    session.manager.wait_until_finished()
    session.manager.close()
    if session.host_actor is not None:
        session.host_actor.close()
    session_wall = time.perf_counter() - session.start
    acting_and_learning = loop.timing["act_s"] + loop.timing["learn_s"]
    return {
        "run_dir": str(session.run_dir),
        "elapsed_s": loop.elapsed,
        "session_wall_s": session_wall,
        **counters,
        **loop.timing,
        "other_fraction": max(0.0, 1 - acting_and_learning / session_wall),
    }


def _on_schedule(c: Components, session: _Session, loop: _Loop, window: MetricsWindow, now: float):
    """Log, evaluate, checkpoint and snapshot, each when its interval has passed."""
    cfg, counters, params, last = c.config, loop.counters, loop.train_state.params, loop.last
    snapshot_every = cfg.run.snapshot_interval_s
    if now - last["log"] >= cfg.run.log_interval_s:
        row = window.flush(now, counters, loop.elapsed)
        session.logger.write(row)
        session.display.update(counters, loop.elapsed, row)
        last["log"] = now
        check_finite(row, counters["updates"])
    if _evaluation_due(cfg, loop, now):
        _evaluate(c, session, loop, cfg.run.seed + counters["iterations"])
        last["eval"] = time.perf_counter()
        last["eval_mark"] = _env_step_mark(cfg, counters)
    saving = now - last["checkpoint"] >= cfg.run.checkpoint_interval_s
    if saving or (snapshot_every > 0 and now - last["snapshot"] >= snapshot_every):
        window.check_finite(counters["updates"])  # never save a state after a skipped update
    if saving:
        state = loop.host_copy(window.pending_episodes())
        checkpointing.save(session.manager, counters["iterations"], state, params)
        last["checkpoint"] = time.perf_counter()
    if snapshot_every > 0 and now - last["snapshot"] >= snapshot_every:
        keep = cfg.run.snapshots_to_keep
        checkpointing.save_snapshot(session.run_dir, counters["iterations"], params, keep=keep)
        last["snapshot"] = time.perf_counter()


def _env_step_mark(cfg: Config, counters: dict[str, int]) -> int:
    """How many `eval.interval_env_steps` the run has passed (0 without that interval)."""
    every = cfg.eval.interval_env_steps
    return counters["env_steps"] // every if every else 0


def _evaluation_due(cfg: Config, loop: _Loop, now: float) -> bool:
    """An evaluation is due when `eval.interval_s` has passed since the last one, or the run
    has passed another multiple of `eval.interval_env_steps`."""
    e = cfg.eval
    by_time = e.interval_s > 0 and now - loop.last["eval"] >= e.interval_s
    return by_time or _env_step_mark(cfg, loop.counters) > loop.last["eval_mark"]


def _finish(
    c: Components, session: _Session, loop: _Loop, summary: dict[str, Any], evaluate_at_end: bool
) -> None:
    """The final evaluation, summary.json and the run's figure."""
    run_dir = session.run_dir
    result = _evaluate(c, session, loop, c.config.run.seed + 1) if evaluate_at_end else None
    if result is not None:
        summary["eval"] = result["details"]
        (run_dir / "eval.json").write_text(json.dumps(result["details"], indent=2))
    errors = [row for row in session.logger.rows if "eval/error" in row]
    if errors:
        summary["eval_errors"] = errors
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    session.logger.close()
    plot_run(run_dir)


def _evaluate(c: Components, session: _Session, loop: _Loop, seed: int) -> dict | None:
    """One evaluation of the current parameters, its metrics logged. An opponent that fails (a
    plug-in that raises or plays an illegal move: OpponentError) does not end the training: its
    error is logged as an `eval/error` row (metrics.jsonl and .csv, summary.json's eval_errors,
    the display) and None is returned."""
    at = {"env_steps": loop.counters["env_steps"], "elapsed_s": loop.elapsed}
    try:
        result = evaluate(c, loop.train_state.params, seed)
    except OpponentError as error:
        row = at | {"eval/error": str(error)}
        session.logger.write(row)
        session.display.update(loop.counters, loop.elapsed, row)
        return None
    session.logger.write(at | result["metrics"])
    return result
