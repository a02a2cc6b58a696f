"""`make bench`: self-play throughput against its roofline, and the loop's overhead.

For each preset:
- acting: env steps/s of the jitted self-play call (search + env step scanned over T steps of
  E environments), the learner paused;
- roofline: the same jitted search and network forward, same batch and simulations, scanned
  over the same T steps on fixed observations: no env, no replay, no transfers;
- ratio = acting / roofline;
- for host environments (Atari) the same with the host actor: emulators in ale-py's threads,
  searches of one half of the batch overlapping the other half's emulation, against the
  policy steps dispatched back to back; frames/s = agent steps/s x frame skip;
- a short full training run, and the share of its wall time spent outside acting and learning
  (host overhead, replay insertion, logging, checkpoints).

`--replay-frames N` instead fills a grayscale 96x96 Atari replay of N frames and compares the
process's resident memory growth with the figure a run prints at start.

A benchmark, not a test: numbers depend on the machine and its load. Usage:
    python -m muzero.cli.bench tictactoe cartpole [--repeats 5] [--train-seconds 40]
    python -m muzero.cli.bench atari100k --train-seconds 0
    python -m muzero.cli.bench --replay-frames 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time

import jax
import jax.numpy as jnp
from rich.console import Console
from rich.table import Table

from configs import PRESETS, get_preset
from envs import is_host_env
from envs import spec as envs_spec
from muzero.acting.histories import network_input
from muzero.acting.host_actor import HostActor
from muzero.cli.common import OneLineParser, fail
from muzero.replay import buffer as replay_lib
from muzero.replay.history import network_spec
from muzero.runtime import memory
from muzero.runtime.components import build, init_state
from muzero.runtime.training import run
from muzero.search.policy import make_search_fn


def _time_calls(fn, repeats: int) -> float:
    """Best-of-`repeats` seconds per call after two warm-up calls (compile, then steady)."""
    for _ in range(2):
        jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


def _acting_result(preset: str, config, act_seconds: float, roof_seconds: float) -> dict:
    steps = config.actor.unroll_length * config.actor.num_envs
    return {
        "preset": preset,
        "num_envs": config.actor.num_envs,
        "unroll_length": config.actor.unroll_length,
        "simulations": config.search.num_simulations,
        "acting_steps_per_s": steps / act_seconds,
        "roofline_steps_per_s": steps / roof_seconds,
        "ratio": roof_seconds / act_seconds,
    }


def bench_acting(preset: str, repeats: int) -> dict:
    config = get_preset(preset)
    c = build(config)
    state = init_state(c, 0)
    params, actor = state["train_state"].params, state["actor"]

    key = jax.random.key(1)
    act_seconds = _time_calls(lambda: c.act(params, actor, key), repeats)

    search = make_search_fn(c.model, config, network_spec(c.spec, config))
    observation = network_input(actor.history, config, c.spec)
    legal = actor.timestep.legal_mask

    @jax.jit
    def search_only(params, key):
        def body(carry, k):
            out = search(params, observation, legal, k)
            return carry + jnp.sum(out.root_value), None

        return jax.lax.scan(
            body, jnp.float32(0), jax.random.split(key, config.actor.unroll_length)
        )[0]

    roof_seconds = _time_calls(lambda: search_only(params, key), repeats)
    return _acting_result(preset, config, act_seconds, roof_seconds)


def bench_host_acting(preset: str, repeats: int) -> dict:
    """Host environments (Atari): the host actor's T steps against the same policy steps
    dispatched back to back on fixed inputs (no emulator, no per-step transfer)."""
    config = get_preset(preset)
    c = build(config)
    params = init_state(c, 0)["train_state"].params
    actor = HostActor(config, c.spec, c.search, seed=0)
    key = jax.random.key(1)
    try:
        act_seconds = _time_calls(lambda: actor.act(params, key)[0], repeats)

        def search_only():
            actions = [
                actor.launch(params, group, key)[0]
                for _ in range(config.actor.unroll_length)
                for group in actor.groups
            ]
            return actions[-1]

        roof_seconds = _time_calls(search_only, repeats)
    finally:
        actor.close()
    result = _acting_result(preset, config, act_seconds, roof_seconds)
    result["frames_per_s"] = result["acting_steps_per_s"] * config.env.frame_skip
    return result


def _replay_functions(config, spec):
    """Jitted (random chunk of frames, replay add, replay sample) for `bench_replay_memory`."""
    num_envs = config.actor.num_envs
    add = jax.jit(replay_lib.add, donate_argnums=0)
    lc = config.learner

    @jax.jit
    def random_chunk(key):
        t, e = config.actor.unroll_length, num_envs
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

    sample = jax.jit(
        lambda r, k: (
            replay_lib.sample(
                r,
                k,
                batch_size=lc.batch_size,
                unroll_steps=lc.unroll_steps,
                td_steps=lc.td_steps,
                priority_exponent=1.0,
                importance_exponent=1.0,
                history_frames=config.history.frames,
                action_planes=config.history.action_planes,
            ).observation
        )
    )
    return random_chunk, add, sample


def bench_replay_memory(frames: int, preset: str = "atari", grayscale: bool = True) -> dict:
    """Allocate a replay of `frames` frames of `preset`'s Atari shape, fill every slot,
    sample from it, and compare the process's resident memory growth with the figure the run
    prints at start (`memory.replay_summary`)."""
    config = get_preset(preset)
    config = config.replace(
        env=dataclasses.replace(config.env, grayscale=grayscale),
        replay=dataclasses.replace(config.replay, capacity=frames),
        actor=dataclasses.replace(config.actor, num_envs=64, unroll_length=16),
    )
    spec = envs_spec(config.env)
    num_envs, length = config.actor.num_envs, config.replay_steps_per_env
    printed = memory.replay_summary(config, spec)
    storage, predicted = memory.replay_bytes(config, spec)
    random_chunk, add, sample = _replay_functions(config, spec)
    # Compile everything first, from shapes alone, so the growth measured below is the
    # replay's and not XLA's compile workspace (reported separately).
    key = jax.random.key(0)
    rss_start = memory.rss_bytes()
    init = jax.jit(lambda: replay_lib.init_replay(spec, num_envs, length)).lower().compile()
    replay_shape = jax.eval_shape(lambda: replay_lib.init_replay(spec, num_envs, length))
    add = add.lower(replay_shape, jax.eval_shape(random_chunk, key)).compile()
    sample = sample.lower(replay_shape, key).compile()
    chunk = random_chunk.lower(key).compile()
    rss_before = memory.rss_bytes()
    replay = init()
    for _ in range(length // config.actor.unroll_length):
        key, k = jax.random.split(key)
        replay = add(replay, chunk(k))
    batch = jax.block_until_ready(sample(replay, key))
    growth = memory.rss_bytes() - rss_before
    return {
        "frames": num_envs * length,
        "printed": printed,
        "storage_bytes": storage,
        "predicted_bytes": predicted,
        "rss_growth_bytes": growth,
        "compile_rss_bytes": rss_before - rss_start,
        "within": growth <= predicted,
        "sample_shape": tuple(batch.shape),
    }


def bench_training(preset: str, seconds: float) -> dict:
    config = get_preset(preset)
    with tempfile.TemporaryDirectory() as runs_dir:
        config = config.replace(
            run=dataclasses.replace(
                config.run,
                time_budget_s=seconds,
                max_env_steps=0,
                max_iterations=0,
                runs_dir=runs_dir,
                progress=False,
                tensorboard=True,
            )
        )
        run_dir = run(config, evaluate_at_end=False)
        summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "train_wall_s": summary["session_wall_s"],
        "act_s": summary["act_s"],
        "learn_s": summary["learn_s"],
        "other_fraction": summary["other_fraction"],
    }


def results_table(results: list[dict]) -> Table:
    """One row per preset: acting rate, roofline, their ratio and the loop's overhead."""
    table = Table(title=f"make bench ({jax.devices()[0].platform}, {jax.device_count()} device)")
    for column in (
        "preset",
        "envs x steps",
        "sims",
        "acting steps/s",
        "frames/s",
        "roofline steps/s",
        "ratio",
        "train other %",
    ):
        table.add_column(column, justify="right")
    for r in results:
        other = f"{100 * r['other_fraction']:.1f}%" if "other_fraction" in r else "-"
        table.add_row(
            r["preset"],
            f"{r['num_envs']} x {r['unroll_length']}",
            str(r["simulations"]),
            f"{r['acting_steps_per_s']:,.0f}",
            f"{r['frames_per_s']:,.0f}" if "frames_per_s" in r else "-",
            f"{r['roofline_steps_per_s']:,.0f}",
            f"{r['ratio']:.2f}",
            other,
        )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = OneLineParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "presets",
        nargs="*",
        default=["tictactoe", "cartpole"],
        help=f"presets to measure (known: {', '.join(sorted(PRESETS))})",
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per measurement")
    parser.add_argument(
        "--train-seconds",
        type=float,
        default=40.0,
        help="length of the full training run per preset; 0 skips it",
    )
    parser.add_argument("--json", default="", help="also write the results to this JSON file")
    parser.add_argument(
        "--replay-frames",
        type=int,
        default=0,
        help="instead: fill a grayscale 96x96 Atari replay of this many frames and compare "
        "the process's memory growth (RSS) with the figure printed at start",
    )
    args = parser.parse_args(argv)
    if args.replay_frames > 0:
        result = bench_replay_memory(args.replay_frames)
        Console().print(
            f"{result['printed']}\nresident memory growth after filling every slot and "
            f"sampling: {memory.describe(result['rss_growth_bytes'])} "
            f"({'within' if result['within'] else 'ABOVE'} the printed figure); compiling the "
            f"replay's functions beforehand took {memory.describe(result['compile_rss_bytes'])}"
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(result, f, indent=2)
        return
    for name in args.presets:
        if name not in PRESETS:
            fail(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")

    console = Console(width=max(Console().width, 130))  # a full table in logs and CI
    results = []
    for name in args.presets:
        console.print(f"[bold]{name}[/]: acting and roofline ...")
        host = is_host_env(get_preset(name).env.id)
        result = (bench_host_acting if host else bench_acting)(name, args.repeats)
        # Training an Atari network on a CPU takes seconds per update: the full-run overhead
        # is measured where it means something, on an accelerator.
        if args.train_seconds > 0 and not (host and jax.devices()[0].platform == "cpu"):
            console.print(f"[bold]{name}[/]: {args.train_seconds:.0f} s of full training ...")
            result.update(bench_training(name, args.train_seconds))
        results.append(result)

    console.print(results_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
