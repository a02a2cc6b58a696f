"""`make bench`: self-play throughput against its roofline, the learner with and without
reanalysis, and where a run's time goes.

For each preset:
- acting: env steps/s of the jitted self-play call (search + env step scanned over T steps of
  E environments), the learner paused;
- roofline: the same jitted search and network forward, same batch and simulations, scanned
  over the same T steps on fixed observations: no env, no replay, no transfers;
- ratio = acting / roofline;
- for host environments (Atari) the same with the host actor: emulators in ale-py's threads,
  searches of one half of the batch overlapping the other half's emulation, against the
  policy steps dispatched back to back; frames/s = agent steps/s x frame skip;
- learning (`muzero.cli.bench_learning`): updates/s of the jitted update as configured, the
  update's time with reanalysis off and on, reanalysed positions/s of the reanalysis alone,
  and the shares of acting, learning and reanalysis in one iteration (E x T acting steps,
  then U updates), as configured and with reanalysis on;
- a short full training run, and the share of its wall time spent outside acting and learning
  (host overhead, replay insertion, logging, checkpoints).

`--replay-frames N` instead fills a grayscale 96x96 Atari replay of N frames and compares the
process's resident memory growth with the figure a run prints at start.

Config overrides follow the bench's own options, as for training (`--reanalyze.policy`).
A benchmark, not a test: numbers depend on the machine and its load. Usage:
    python -m muzero.cli.bench tictactoe cartpole [--repeats 5] [--train-seconds 40]
    python -m muzero.cli.bench smoke --train-seconds 0 --reanalyze.policy --reanalyze.value
    python -m muzero.cli.bench atari100k --train-seconds 0
    python -m muzero.cli.bench --replay-frames 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile

import jax
import jax.numpy as jnp
from rich.console import Console
from rich.table import Table

from configs import PRESETS, get_preset
from envs import spec as envs_spec
from muzero.acting.histories import network_input
from muzero.acting.host_actor import HostActor
from muzero.cli.bench_learning import (
    bench_learning,
    learning_table,
    random_chunk_fn,
    time_calls,
)
from muzero.cli.common import OneLineParser, fail, parse_config
from muzero.config import Config
from muzero.replay import buffer as replay_lib
from muzero.replay.history import network_spec
from muzero.runtime import memory
from muzero.runtime.components import Components, build, init_state
from muzero.runtime.training import run
from muzero.search.policy import make_search_fn


def _acting_result(config: Config, act_seconds: float, roof_seconds: float) -> dict:
    steps = config.actor.unroll_length * config.actor.num_envs
    return {
        "preset": config.preset,
        "num_envs": config.actor.num_envs,
        "unroll_length": config.actor.unroll_length,
        "simulations": config.search.num_simulations,
        "acting_steps_per_s": steps / act_seconds,
        "roofline_steps_per_s": steps / roof_seconds,
        "ratio": roof_seconds / act_seconds,
        "act_call_s": act_seconds,
    }


def bench_acting(c: Components, repeats: int) -> dict:
    """JAX environments: the device actor's jitted call against its search roofline."""
    config = c.config
    state = init_state(c, 0)
    params, actor = state["train_state"].params, state["actor"]

    key = jax.random.key(1)
    act_seconds = time_calls(lambda: c.act(params, actor, key), repeats)

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

    roof_seconds = time_calls(lambda: search_only(params, key), repeats)
    return _acting_result(config, act_seconds, roof_seconds)


def bench_host_acting(c: Components, repeats: int) -> dict:
    """Host environments (Atari): the host actor's T steps against the same policy steps
    dispatched back to back on fixed inputs (no emulator, no per-step transfer)."""
    config = c.config
    params = init_state(c, 0)["train_state"].params
    actor = HostActor(config, c.spec, c.search, seed=0)
    key = jax.random.key(1)
    try:
        act_seconds = time_calls(lambda: actor.act(params, key)[0], repeats)

        def search_only():
            actions = [
                actor.launch(params, group, key)[0]
                for _ in range(config.actor.unroll_length)
                for group in actor.groups
            ]
            return actions[-1]

        roof_seconds = time_calls(search_only, repeats)
    finally:
        actor.close()
    result = _acting_result(config, act_seconds, roof_seconds)
    result["frames_per_s"] = result["acting_steps_per_s"] * config.env.frame_skip
    return result


def _replay_functions(config, spec):
    """Jitted (random chunk of frames, replay add, replay sample) for `bench_replay_memory`."""
    add = jax.jit(replay_lib.add, donate_argnums=0)
    lc = config.learner

    random_chunk = random_chunk_fn(config, spec)

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


def bench_training(config: Config, seconds: float) -> dict:
    """A full training run of `config` for `seconds`: where its wall time went."""
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


def _split_overrides(argv: list[str]) -> tuple[list[str], list[str]]:
    """The bench's own arguments, and the config overrides: everything from the first
    `--section.field` on (the bench's own options have no dot)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--") and "." in arg.split("=", 1)[0]:
            return argv[:i], argv[i:]
    return argv, []


def _parser() -> OneLineParser:
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
    parser.add_argument(
        "--learning",
        choices=("auto", "on", "off"),
        default="auto",
        help="measure the learner and reanalysis (auto: except host environments on a CPU, "
        "where one Atari update takes seconds)",
    )
    parser.add_argument("--json", default="", help="also write the results to this JSON file")
    parser.add_argument(
        "--replay-frames",
        type=int,
        default=0,
        help="instead: fill a grayscale 96x96 Atari replay of this many frames and compare "
        "the process's memory growth (RSS) with the figure printed at start",
    )
    return parser


def _print_replay_memory(frames: int, json_path: str) -> None:
    result = bench_replay_memory(frames)
    Console().print(
        f"{result['printed']}\nresident memory growth after filling every slot and "
        f"sampling: {memory.describe(result['rss_growth_bytes'])} "
        f"({'within' if result['within'] else 'ABOVE'} the printed figure); compiling the "
        f"replay's functions beforehand took {memory.describe(result['compile_rss_bytes'])}"
    )
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=2)


def bench_preset(
    name: str, args: argparse.Namespace, overrides: list[str], console: Console
) -> dict:
    """Every measurement of one preset (with the command line's config overrides)."""
    config = get_preset(name)
    if overrides:
        config = parse_config(config, overrides, __doc__)
    try:
        c = build(config)
    except ValueError as error:
        fail(str(error))
    # Training an Atari network on a CPU takes seconds per update: the learner and the
    # full-run overhead are measured where they mean something, on an accelerator.
    slow_learner = c.host and jax.devices()[0].platform == "cpu"
    console.print(f"[bold]{name}[/]: acting and roofline ...")
    result = (bench_host_acting if c.host else bench_acting)(c, args.repeats)
    if args.learning == "on" or (args.learning == "auto" and not slow_learner):
        console.print(f"[bold]{name}[/]: learning, with and without reanalysis ...")
        result.update(bench_learning(c, result["act_call_s"], args.repeats))
    if args.train_seconds > 0 and not slow_learner:
        console.print(f"[bold]{name}[/]: {args.train_seconds:.0f} s of full training ...")
        result.update(bench_training(config, args.train_seconds))
    return result


def main(argv: list[str] | None = None) -> None:
    own, overrides = _split_overrides(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(own)
    if args.replay_frames > 0:
        _print_replay_memory(args.replay_frames, args.json)
        return
    for name in args.presets:
        if name not in PRESETS:
            fail(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")

    console = Console(width=max(Console().width, 160))  # full tables in logs and CI
    results = [bench_preset(name, args, overrides, console) for name in args.presets]
    console.print(results_table(results))
    if any("updates_per_s" in r for r in results):
        console.print(learning_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
