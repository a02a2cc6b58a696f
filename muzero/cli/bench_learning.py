"""`make bench`'s learner half: the jitted update with and without reanalysis, reanalysis on
its own, and how one iteration of a run divides between acting, learning and reanalysis.

Every figure is measured on a replay filled as a run's is when its learner starts
(`replay.min_size` steps): real self-play from the device actor for JAX environments, random
frames for host environments (Atari), whose emulators would only add minutes of filling.
Reanalysis is measured with the preset's own reanalysis settings (source of the value,
simulations) but both halves forced on (`with_reanalysis`), so a preset that trains without
it still shows what it would cost.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from rich.table import Table

from muzero.config import Config
from muzero.learning.learner import (
    init_train_state,
    make_learn_fn,
    make_optimizer,
    make_update_fn,
    sample_positions,
)
from muzero.learning.reanalyze import make_reanalyze_fn
from muzero.replay import buffer as replay_lib
from muzero.replay.history import network_spec
from muzero.runtime.components import Components, init_state
from muzero.types import EnvSpec, Params

SHARES = ("act", "learn", "reanalysis")


def time_calls(fn: Callable[[], Any], repeats: int) -> float:
    """Best-of-`repeats` seconds per call after two warm-up calls (compile, then steady)."""
    for _ in range(2):
        jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


def with_reanalysis(config: Config, on: bool) -> Config:
    """`config` with both halves of reanalysis (policy and value) on, or both off; its other
    reanalysis settings kept."""
    reanalyze = dataclasses.replace(config.reanalyze, policy=on, value=on)
    return config.replace(reanalyze=reanalyze)


def random_chunk_fn(config: Config, spec: EnvSpec) -> Callable[[jax.Array], Any]:
    """Jitted key -> a [T, E] `Trajectory` of random frames and actions (every action legal):
    replay contents for host environments without running their emulators."""

    @jax.jit
    def random_chunk(key: jax.Array) -> replay_lib.Trajectory:
        t, e = config.actor.unroll_length, config.actor.num_envs
        k_obs, k_act = jax.random.split(key)
        return replay_lib.Trajectory(
            observation=jax.random.bits(k_obs, (t, e, *spec.observation_shape), jnp.uint8),
            action=jax.random.randint(k_act, (t, e), 0, spec.num_actions),
            reward=jnp.ones((t, e)),
            terminated=jnp.zeros((t, e), bool),
            truncated=jnp.zeros((t, e), bool),
            root_value=jnp.zeros((t, e)),
            policy=jnp.full((t, e, spec.num_actions), 1.0 / spec.num_actions),
            legal_mask=jnp.ones((t, e, spec.num_actions), bool),
        )

    return random_chunk


def filled_replay(c: Components, params: Params) -> replay_lib.ReplayState:
    """The replay as a run's learner first sees it: enough acting chunks that `replay.min_size`
    positions can be sampled (as `muzero.runtime.training` counts them)."""
    cfg = c.config
    state = init_state(c, 0)
    replay, actor = state["replay"], state["actor"]
    per_env = -(-cfg.replay.min_size // cfg.actor.num_envs)
    per_env += cfg.learner.unroll_steps + cfg.learner.td_steps
    chunks = -(-per_env // cfg.actor.unroll_length)
    chunks = min(chunks, cfg.replay_steps_per_env // cfg.actor.unroll_length)
    random_chunk = random_chunk_fn(cfg, c.spec) if c.host else None
    key = jax.random.key(4)
    for _ in range(chunks):
        key, k = jax.random.split(key)
        if random_chunk is not None:
            chunk = random_chunk(k)
        else:
            actor, chunk, _ = c.act(params, actor, k)
        replay = c.add(replay, chunk)
    return replay


def time_update(
    config: Config, c: Components, replay: replay_lib.ReplayState, repeats: int
) -> float:
    """Seconds per update of `config`'s learner (`c`'s model, any reanalysis settings): the
    jitted step a run's learn call dispatches `learner.updates_per_iteration` times, here one
    per call so that an Atari network on a CPU takes seconds rather than minutes."""
    optimizer = make_optimizer(config)
    update = make_update_fn(c.model, optimizer, config, network_spec(c.spec, config))
    learn = make_learn_fn(update, 1)
    target_network = config.reanalyze.uses_target_network
    state = init_train_state(c.model, optimizer, jax.random.key(0), target_network)
    # The learn call donates the state and the priorities: each call gets the last one's.
    carried = {
        "state": state,
        "replay": replay.replace(priority=jnp.copy(replay.priority)),
        "key": jax.random.key(1),
    }

    def one_update() -> Any:
        carried["key"], key = jax.random.split(carried["key"])
        carried["state"], carried["replay"], _ = learn(carried["state"], carried["replay"], key)
        return carried["state"]

    return time_calls(one_update, repeats)


def time_reanalysis(
    config: Config, c: Components, replay: replay_lib.ReplayState, params: Params, repeats: int
) -> float:
    """Seconds per call of the jitted reanalysis (`make_reanalyze_fn`, alone) of one sampled
    batch: B (K + 1) policy searches and B (K + 1) bootstrap values, as `config` asks."""
    lc = config.learner
    sample = jax.jit(
        lambda replay, key: sample_positions(
            replay, key, config, next_observations=True, legal_masks=True
        )
    )(replay, jax.random.key(2))
    reanalyze = jax.jit(make_reanalyze_fn(c.model, config, network_spec(c.spec, config)))
    horizon = jnp.full((lc.batch_size,), lc.td_steps, jnp.int32)
    key = jax.random.key(3)
    # The parameters stand in for the target network too: the same computation either way.
    return time_calls(lambda: reanalyze(params, params, replay, sample, horizon, key), repeats)


def run_shares(
    act_s: float, update_off_s: float, update_s: float, num_updates: int
) -> dict[str, float]:
    """Fractions of one iteration (one acting call of `act_s`, `num_updates` updates of
    `update_s` each) spent acting, learning and reanalysing. Reanalysis is what an update takes
    beyond one without it (`update_off_s`), never below 0: the two are timed separately and
    noise may order them either way; learning and reanalysis together are always the
    updates' time."""
    parts = {
        "act": act_s,
        "learn": num_updates * min(update_off_s, update_s),
        "reanalysis": num_updates * max(0.0, update_s - update_off_s),
    }
    total = sum(parts.values())
    return {name: value / total for name, value in parts.items()}


def reanalysis_label(config: Config) -> str:
    """Which halves of reanalysis `config` trains with: policy+value, policy, value or off."""
    halves = [name for name in ("policy", "value") if getattr(config.reanalyze, name)]
    return "+".join(halves) or "off"


def bench_learning(c: Components, act_s: float, repeats: int) -> dict[str, Any]:
    """The learner's figures for `c`'s preset as configured, given its acting call's seconds:
    updates/s, the update with reanalysis off and on, reanalysed positions/s, and the shares
    of one iteration (as configured, and with reanalysis on)."""
    config, lc = c.config, c.config.learner
    params = init_state(c, 0)["train_state"].params
    replay = filled_replay(c, params)
    configs = {"off": with_reanalysis(config, False), "on": with_reanalysis(config, True)}
    seconds = {name: time_update(cfg, c, replay, repeats) for name, cfg in configs.items()}
    label = reanalysis_label(config)
    if label == "off" or label == "policy+value":
        seconds["configured"] = seconds["off" if label == "off" else "on"]
    else:  # one half only: its own update
        seconds["configured"] = time_update(config, c, replay, repeats)
    reanalyse_s = time_reanalysis(configs["on"], c, replay, params, repeats)
    positions = lc.batch_size * (lc.unroll_steps + 1)
    shares = functools.partial(
        run_shares, act_s, seconds["off"], num_updates=lc.updates_per_iteration
    )
    return {
        "reanalysis_config": label,
        "batch_size": lc.batch_size,
        "unroll_steps": lc.unroll_steps,
        "updates_per_iteration": lc.updates_per_iteration,
        "updates_per_s": 1.0 / seconds["configured"],
        "update_s": seconds["configured"],
        "update_s_reanalysis_off": seconds["off"],
        "update_s_reanalysis_on": seconds["on"],
        "reanalysis_call_s": reanalyse_s,
        "reanalysed_positions_per_s": positions / reanalyse_s,
        "share": shares(update_s=seconds["configured"]),
        "share_reanalysis_on": shares(update_s=seconds["on"]),
    }


def _share_text(share: dict[str, float]) -> str:
    return ":".join(f"{100 * share[name]:.0f}" for name in SHARES)


def learning_table(results: list[dict[str, Any]]) -> Table:
    """One row per preset whose learner was measured (`bench_learning`'s keys)."""
    table = Table(
        title=f"learning and reanalysis ({jax.devices()[0].platform})",
        caption="updates/s: the update as configured; update ms: one update with reanalysis "
        "off, and on (policy and value); reanalysed positions/s: B (K+1) per call of the "
        "reanalysis alone; share %: one iteration of a run (E x T acting steps, then U updates) "
        "as configured, and as it would be with reanalysis on",
    )
    columns = (
        "preset",
        "reanalysis",
        "B x (K+1)",
        "updates/iter",
        "updates/s",
        "update ms off",
        "update ms on",
        "reanalysed positions/s",
        "share % act : learn : reanalysis",
        "share % if reanalysis on",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for r in results:
        if "updates_per_s" not in r:
            continue
        table.add_row(
            r["preset"],
            r["reanalysis_config"],
            f"{r['batch_size']} x {r['unroll_steps'] + 1}",
            str(r["updates_per_iteration"]),
            f"{r['updates_per_s']:,.1f}",
            f"{1000 * r['update_s_reanalysis_off']:,.1f}",
            f"{1000 * r['update_s_reanalysis_on']:,.1f}",
            f"{r['reanalysed_positions_per_s']:,.0f}",
            _share_text(r["share"]),
            "-"
            if r["reanalysis_config"] == "policy+value"
            else _share_text(r["share_reanalysis_on"]),
        )
    return table
