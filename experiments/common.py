"""What every experiment shares: its results folder, its report, training runs and matches.

An experiment writes `experiments/results/<YYYYmmdd-HHMM>-<name>/` with `data/*.csv`,
`figures/*.png` and `report.md` (DESIGN.md section 7). Scripts run at a CPU scale by default,
at the paper's scale with `--paper-scale`, and in seconds with `--tiny` (the tests).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import pathlib
import subprocess
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

from muzero.cli.common import OneLineParser, fail, write_csv

ROOT = pathlib.Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The flags every experiment has; errors are one line, as the entry points' are."""
    p = OneLineParser(prog=f"python experiments/{name}.py", description=description)
    p.add_argument("--tiny", action="store_true", help="a seconds-long run (tests use it)")
    p.add_argument(
        "--paper-scale", action="store_true", help="the paper's scale (hours; wants a GPU)"
    )
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument(
        "--out",
        type=pathlib.Path,
        default=RESULTS,
        help="folder that receives the <time>-<name> results folder",
    )
    return p


def add_training_flags(p: argparse.ArgumentParser, default_eval: str) -> None:
    """The flags of the experiments that train many runs and compare their curves."""
    p.add_argument("--seeds", type=int, help="seeds per setting: --seed and up")
    p.add_argument(
        "--eval-simulations",
        type=int,
        help=f"simulations per move when evaluating every agent ({default_eval}; 0 = the "
        "agent's training budget)",
    )
    p.add_argument(
        "--from-runs", type=pathlib.Path, help="analyse the runs under this folder, train none"
    )
    p.add_argument("--keep-checkpoints", action="store_true", help="keep the runs' checkpoints")


def results_folder(out: pathlib.Path, name: str) -> pathlib.Path:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    folder = pathlib.Path(out) / f"{stamp}-{name}"
    suffix = 1
    while folder.exists():
        folder = pathlib.Path(out) / f"{stamp}-{name}-{suffix}"
        suffix += 1
    (folder / "data").mkdir(parents=True)
    (folder / "figures").mkdir()
    return folder


def commit() -> str:
    """The checkout's commit, with -dirty when it has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("-dirty" if dirty else "")


def command_line() -> str:
    return " ".join(["python", *sys.argv]) if sys.argv and sys.argv[0] else "python"


def write_report(folder: pathlib.Path, title: str, sections: Iterable[tuple[str, str]]) -> None:
    """report.md: the title, what was run, then the experiment's own sections."""
    lines = [
        f"# {title}",
        "",
        f"- command: `{command_line()}`",
        f"- commit: `{commit()}`",
        f"- date: {datetime.datetime.now().isoformat(timespec='minutes')}",
        "- machine: " + machine(),
        "",
    ]
    for heading, body in sections:
        lines += [f"## {heading}", "", body.strip(), ""]
    (folder / "report.md").write_text("\n".join(lines))


def machine() -> str:
    import os

    import jax

    device = jax.devices()[0]
    return f"{os.cpu_count()} CPU cores, JAX {jax.__version__} on {device.platform} ({device})"


def markdown_table(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    columns = columns or list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [f"{row[c]:.3g}" if isinstance(row[c], float) else str(row[c]) for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def train(preset: str, overrides: dict[str, dict[str, Any]], runs_dir: pathlib.Path):
    """Train a preset with per-section field overrides; returns the run directory."""
    from muzero.runtime.training import run

    config = configure(preset, overrides, runs_dir)
    return run(config, evaluate_at_end=False)  # experiments evaluate in their own way


def configure(preset: str, overrides: dict[str, dict[str, Any]], runs_dir: pathlib.Path):
    """A preset's Config with per-section field overrides, its runs under `runs_dir`, checked
    against the environment (ValueError names the field)."""
    from configs import get_preset
    from muzero.runtime.components import check_config

    config = get_preset(preset)
    sections = {"run": {"runs_dir": str(runs_dir), "progress": False}}
    for section, fields in overrides.items():
        sections[section] = {**sections.get(section, {}), **fields}
    for section, fields in sections.items():
        config = config.replace(
            **{section: dataclasses.replace(getattr(config, section), **fields)}
        )
    check_config(config)
    return config


def read_metrics(run_dir: pathlib.Path) -> list[dict[str, Any]]:
    """The rows of a run's metrics.jsonl, in order."""
    import json

    lines = (pathlib.Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_agent(run_dir: pathlib.Path, games: int | None):
    """(run dir, step, config, Components, params) of a trained two-player run; `games` (if
    given) becomes its eval.num_games."""
    from muzero.agent import load_params
    from muzero.runtime import checkpointing
    from muzero.runtime.components import build
    from muzero.runtime.runs import load_run_config

    run_dir, step = checkpointing.resolve(run_dir)
    config = load_run_config(run_dir)
    num_games = games or config.eval.num_games
    config = config.replace(
        eval=dataclasses.replace(config.eval, num_games=num_games, opponents=())
    )
    c = build(config)
    if not c.spec.two_player:
        fail(f"{config.env.id} is not a two-player game")
    return run_dir, step, config, c, load_params(run_dir, step, config)


def learned_model_player(c, config, params, simulations: int):
    """The agent's own search (learned model) at `simulations` per move."""
    import jax

    from muzero.evaluation.matches import search_player
    from muzero.replay.history import network_spec
    from muzero.search.policy import make_search_fn

    search = make_search_fn(
        c.model, config, network_spec(c.spec, config), evaluation=True,
        num_simulations=simulations,
    )  # fmt: skip
    return search_player(jax.jit(search), params)


def rate(
    env,
    players: dict,
    anchors: list[str],
    pairs: list[tuple[str, str]],
    games: int | None,
    seed: int,
    folder: pathlib.Path,
) -> tuple[list[dict[str, Any]], list]:
    """Play the anchors among themselves and `pairs` from distinct openings in both seats
    (`games` per pairing and seat, None: one per opening), fit Elo (random = 0) to the distinct
    games, write data/ratings.csv (with each player's record), data/matches.csv (with distinct
    and played counts) and data/games.csv (every game's moves); returns the rating rows and the
    match results, tallied over distinct games."""
    from muzero.cli.elo import play_pair_games
    from muzero.evaluation.elo import fit_elo, game_rows, match_row, player_records, tally
    from muzero.evaluation.opponents import make_opponent

    players = players | {a: make_opponent(a, env.spec.name) for a in anchors}
    anchor_pairs = [(a, b) for k, a in enumerate(anchors) for b in anchors[k + 1 :]]
    played = play_pair_games(env, players, anchor_pairs + pairs, games, seed)
    results = tally(played)
    ratings = fit_elo(results, anchor="random")
    records = player_records(results)
    rows = [
        {"player": name, "elo": float(elo), "ci_low": float(low), "ci_high": float(high)}
        | records[name]
        for name, elo, (low, high) in zip(ratings.players, ratings.elo, ratings.ci95, strict=True)
    ]
    write_csv(folder / "data" / "ratings.csv", rows)
    write_csv(folder / "data" / "matches.csv", [match_row(r) for r in results])
    write_csv(folder / "data" / "games.csv", game_rows(played))
    return rows, results


def match_setup(env, games: int | None, results: list) -> str:
    """The report's sentence on how a rating's games were started and counted."""
    from muzero.evaluation.openings import enumerate_openings, opening_plies

    plies = opening_plies(env.spec.name)
    openings = len(enumerate_openings(env, plies))
    per_seat = "one game per opening" if games is None else f"{games} games"
    distinct = sum(r.distinct for r in results)
    played = sum(r.played for r in results)
    return (
        f"Every pairing plays {per_seat} in each seat, from the game's {openings} openings of "
        f"{plies} move{'s' if plies > 1 else ''} (every sequence of legal first moves, dealt from "
        "a seeded shuffle, the same openings in both seats); a replayed game (same players, seats "
        f"and moves) counts once: {distinct} distinct games of {played} played enter the fit."
    )


def train_evaluated(
    preset: str,
    overrides: dict[str, dict[str, Any]],
    runs_dir: pathlib.Path,
    keep_checkpoints: bool = True,
) -> pathlib.Path:
    """Like `train`, but the run also evaluates itself at the end (a last `eval/...` row in
    metrics.jsonl at its final env step). Without keep_checkpoints the run's checkpoints and
    snapshots are deleted afterwards (learning-curve experiments need only the metrics)."""
    import shutil

    from muzero.runtime.training import run

    run_dir = run(configure(preset, overrides, runs_dir), evaluate_at_end=True)
    if not keep_checkpoints:
        for name in ("checkpoints", "snapshots"):
            shutil.rmtree(run_dir / name, ignore_errors=True)
    return run_dir


def seed_band(curves: list[tuple[np.ndarray, np.ndarray]], points: int = 50) -> dict[str, Any]:
    """Curves of several seeds, each (x ascending [N], y [N]), linearly interpolated onto one
    grid over the x range every seed covers (no extrapolation): x, mean, low and high (min and
    max over seeds) [points]."""
    start = max(float(x[0]) for x, _ in curves)
    stop = min(float(x[-1]) for x, _ in curves)
    grid = np.linspace(start, stop, points) if stop > start else np.array([stop])
    ys = np.stack([np.interp(grid, x, y) for x, y in curves])  # [seeds, points]
    return {"x": grid, "mean": ys.mean(0), "low": ys.min(0), "high": ys.max(0)}


def learning_runs(args, folder: pathlib.Path, trainings: Iterable, read_run) -> list[dict]:
    """The runs of a learning-curve experiment, each read with `read_run`: trained now, one
    per (preset, overrides) of `trainings`, into `folder`/runs, or found under `--from-runs`
    (then nothing trains). Runs without evaluation points are dropped; none left is an error."""
    if args.from_runs:
        run_dirs = sorted(d.parent for d in args.from_runs.glob("**/config.json"))
    else:
        run_dirs = [
            train_evaluated(preset, o, folder / "runs", keep_checkpoints=args.keep_checkpoints)
            for preset, o in trainings
        ]
    runs = [r for r in map(read_run, run_dirs) if r["points"]]
    if not runs:
        fail("no run with evaluation rows")
    return runs


def run_fields(run_dir: pathlib.Path) -> dict[str, Any]:
    """What a learning-curve experiment knows of a run from its config: the run dir, config,
    search algorithm, simulations in training and at evaluation, and seed."""
    from muzero.runtime.runs import load_run_config

    config = load_run_config(run_dir)
    return {
        "run_dir": run_dir,
        "config": config,
        "algorithm": config.search.algorithm,
        "simulations": config.search.num_simulations,
        "eval_simulations": config.eval_simulations,
        "seed": config.run.seed,
    }


def eval_points(rows: list[dict[str, Any]], values) -> list[dict[str, Any]]:
    """A run's evaluation points, sorted by env steps: env_steps, elapsed_s and the fields
    `values(row)` returns for a metrics row (None: not an evaluation row, skipped)."""
    points = []
    for row in rows:
        fields = values(row)
        if fields is not None:
            points.append(
                {"env_steps": float(row["env_steps"]), "elapsed_s": float(row["elapsed_s"])}
                | fields
            )
    return sorted(points, key=lambda q: q["env_steps"])


def curve(points: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(env steps, points' `key`) with one point per distinct env-step count (the last wins:
    the end-of-run evaluation can share the step of the last periodic one)."""
    by_step = {q["env_steps"]: q[key] for q in points}
    x = np.array(sorted(by_step))
    return x, np.array([by_step[v] for v in x])


def seed_bands(runs: list[dict[str, Any]], cell, key: str) -> dict[Any, dict[str, Any]]:
    """`seed_band` of the runs of each cell (`cell(run)`, e.g. the simulation budget) on the
    points' `key`, with the cell's seed count; cells in sorted order."""
    bands = {}
    for c in sorted({cell(r) for r in runs}):
        members = [r for r in runs if cell(r) == c]
        band = seed_band([curve(r["points"], key) for r in members])
        bands[c] = band | {"seeds": len(members)}
    return bands


def write_curves(folder: pathlib.Path, runs: list[dict], bands: dict, cell: tuple[str, ...]):
    """data/curves.csv (every evaluation point of every run, with its cell fields and seed)
    and data/curves_mean.csv (each cell's seed band); `cell` names the fields of the bands'
    keys, e.g. ("algorithm", "simulations")."""
    write_csv(folder / "data" / "curves.csv", [
        {k: r[k] for k in (*cell, "seed")} | point for r in runs for point in r["points"]
    ])  # fmt: skip
    rows = []
    for key, b in bands.items():
        fields = dict(zip(cell, key if isinstance(key, tuple) else (key,), strict=True))
        for x, m, lo, hi in zip(b["x"], b["mean"], b["low"], b["high"], strict=True):
            rows.append(fields | {"env_steps": float(x), "mean": float(m), "low": float(lo),
                                  "high": float(hi), "seeds": b["seeds"]})  # fmt: skip
    write_csv(folder / "data" / "curves_mean.csv", rows)


def mistake_rates(env, players: dict, positions: int | None) -> list[dict[str, Any]]:
    """Each player's mistake rate against perfect play on the fixed benchmark positions of
    `muzero.evaluation.mistakes` (`positions` of them; None: its default), with 95% Wilson intervals
    and the rate per phase. Empty for games without a solver."""
    from muzero.evaluation.mistakes import PHASES, make_positions, mistake_rate

    if env.spec.name not in PHASES:
        return []
    fixed = make_positions(env.spec.name, positions)
    rows = []
    for name, player in players.items():
        r = mistake_rate(env, player, fixed)
        row = {"player": name, "positions": r["positions"], "mistakes": r["mistakes"]}
        row |= {"rate": r["mistake_rate"]}
        row |= dict(zip(("ci_low", "ci_high"), r["mistake_rate_ci95"], strict=True))
        for phase, p in r["phases"].items():
            row[f"{phase}_rate"] = p["mistake_rate"]
        rows.append(row)
    return rows
