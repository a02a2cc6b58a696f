"""`make bench`: self-play throughput against its roofline, and the loop's overhead.

For each preset:
- acting: env steps/s of the jitted self-play call (search + env step scanned over T steps of
  E environments), the learner paused;
- roofline: the same jitted search and network forward, same batch and simulations, scanned
  over the same T steps on fixed observations: no env, no replay, no transfers;
- ratio = acting / roofline;
- a short full training run, and the share of its wall time spent outside acting and learning
  (host overhead, replay insertion, logging, checkpoints).

A benchmark, not a test: numbers depend on the machine and its load. Usage:
    python -m muzero.bench tictactoe cartpole [--repeats 5] [--train-seconds 40]
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
from muzero.search import make_search_fn
from muzero.training import build, init_state, run


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


def bench_acting(preset: str, repeats: int) -> dict:
    config = get_preset(preset)
    c = build(config)
    state = init_state(c, 0)
    params, actor = state["train_state"].params, state["actor"]
    steps = config.actor.unroll_length * config.actor.num_envs

    key = jax.random.key(1)
    act_seconds = _time_calls(lambda: c.act(params, actor, key), repeats)

    search = make_search_fn(c.model, config, c.env.spec)
    observation, legal = actor.timestep.observation, actor.timestep.legal_mask

    @jax.jit
    def search_only(params, key):
        def body(carry, k):
            out = search(params, observation, legal, k)
            return carry + jnp.sum(out.root_value), None

        return jax.lax.scan(
            body, jnp.float32(0), jax.random.split(key, config.actor.unroll_length)
        )[0]

    roof_seconds = _time_calls(lambda: search_only(params, key), repeats)
    return {
        "preset": preset,
        "num_envs": config.actor.num_envs,
        "unroll_length": config.actor.unroll_length,
        "simulations": config.search.num_simulations,
        "acting_steps_per_s": steps / act_seconds,
        "roofline_steps_per_s": steps / roof_seconds,
        "ratio": roof_seconds / act_seconds,
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
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
    args = parser.parse_args(argv)
    for name in args.presets:
        if name not in PRESETS:
            parser.error(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")

    console = Console()
    results = []
    for name in args.presets:
        console.print(f"[bold]{name}[/]: acting and roofline ...")
        result = bench_acting(name, args.repeats)
        if args.train_seconds > 0:
            console.print(f"[bold]{name}[/]: {args.train_seconds:.0f} s of full training ...")
            result.update(bench_training(name, args.train_seconds))
        results.append(result)

    table = Table(title=f"make bench ({jax.devices()[0].platform}, {jax.device_count()} device)")
    for column in (
        "preset",
        "envs x steps",
        "sims",
        "acting steps/s",
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
            f"{r['roofline_steps_per_s']:,.0f}",
            f"{r['ratio']:.2f}",
            other,
        )
    console.print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
