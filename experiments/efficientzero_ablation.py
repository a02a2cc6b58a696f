"""EfficientZero's ablation (Ye et al. 2021, Table 3) at MinAtar scale.

Plain MuZero and MuZero with each of EfficientZero's additions on its own (Reanalyze, the
temporal-consistency loss, the value prefix, the off-policy correction), all of them together
and all but the value prefix train the `minatar200k` preset (configs/minatar200k.py) for the
same environment steps on each game and seed, evaluating 100 greedy episodes every
`eval.interval_env_steps` and at the end. Every arm makes the same updates on the same amount
of data; only the switches differ. The final mean greedy return of each arm and game (and the
mean over the run's second half) is reported with a 95% stratified bootstrap interval over
seeds (rliable's method, `experiments/aggregates.py`), the learning curves with their seeds'
range.

    python experiments/efficientzero_ablation.py                   # 2 games x 7 arms x 3 seeds
    python experiments/efficientzero_ablation.py --games Breakout-MinAtar --arms muzero,+reanalyze
    python experiments/efficientzero_ablation.py --resume-folder experiments/results/<time>-...
    python experiments/efficientzero_ablation.py --from-runs experiments/results/<time>-.../records
    python experiments/efficientzero_ablation.py --tiny            # seconds: the pipeline only

Runs are trained one after another into `<folder>/runs` (git-ignored), and each finished run's
config, metrics and summary are copied to `<folder>/records` (committed with the report), so an
interrupted experiment continues with `--resume-folder`, on this machine or another: finished
runs are kept, an unfinished one resumes from its last checkpoint.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from experiments import aggregates, common  # noqa: E402
from muzero.cli.common import check_range, fail, write_csv  # noqa: E402
from muzero.runtime.plots import pyplot, save_figure  # noqa: E402

NAME = "efficientzero_ablation"
RECORDS = "records"  # each finished run's small files, committed with the report
PRESET = "minatar200k"
GAMES = ("Breakout-MinAtar", "SpaceInvaders-MinAtar")
# Each addition as the config fields that turn it on, at the preset's values; "off" values
# below. Off-policy correction on its own shortens the horizon over stored search values;
# with Reanalyze (all together) the shorter horizon bootstraps from the target network.
OFF = {
    "reanalyze": {"policy": False, "value": False},
    "learner": {"consistency_loss_weight": 0.0, "td_age_steps": 0},
    "network": {"value_prefix_horizon": 0, "projection_size": 0},
}
PARTS = ("reanalyze", "consistency", "value_prefix", "off_policy")
ARMS = {
    "muzero": (),
    "+reanalyze": ("reanalyze",),
    "+consistency": ("consistency",),
    "+value_prefix": ("value_prefix",),
    "+off_policy": ("off_policy",),
    "efficientzero": PARTS,
    # EfficientZero's own ablation removes one addition from the full agent; this one is the
    # removal the MinAtar runs asked for (the value prefix alone hurt there).
    "efficientzero-value_prefix": ("reanalyze", "consistency", "off_policy"),
}
PUBLISHED = (
    "EfficientZero (Ye et al. 2021, 'Mastering Atari Games with Limited Data', NeurIPS): "
    "194.3% mean and 109.0% median human-normalized score on Atari 100k with all three "
    "additions (Table 1). Its ablation (Table 3) removes one addition at a time from the full "
    "agent on Atari 100k and finds that each one helps, the self-supervised consistency loss "
    "the most; its base already reanalyses targets (MuZero Reanalyze). This script measures "
    "each addition alone on plain MuZero and all of them together, on MinAtar; the scores are "
    "not comparable, only the shape is."
)


def part_fields(config) -> dict[str, dict[str, dict]]:
    """The fields that turn each part on, at the preset's values."""
    n, lc, rc = config.network, config.learner, config.reanalyze
    return {
        "reanalyze": {"reanalyze": {"policy": rc.policy, "value": rc.value}},
        "consistency": {
            "network": {"projection_size": n.projection_size},
            "learner": {"consistency_loss_weight": lc.consistency_loss_weight},
        },
        "value_prefix": {"network": {"value_prefix_horizon": n.value_prefix_horizon}},
        "off_policy": {"learner": {"td_age_steps": lc.td_age_steps}},
    }


def arm_overrides(arm: str, base) -> dict[str, dict]:
    overrides = {section: dict(fields) for section, fields in OFF.items()}
    fields = part_fields(base)
    for part in ARMS[arm]:
        for section, values in fields[part].items():
            overrides[section] |= values
    return overrides


def arm_of(config) -> str:
    """Which arm a run's config is (by its switches)."""
    on = (
        config.reanalyze.policy or config.reanalyze.value,
        config.learner.consistency_loss_weight > 0,
        config.network.value_prefix_horizon > 0,
        config.learner.td_age_steps > 0,
    )
    parts = tuple(p for p, flag in zip(PARTS, on, strict=True) if flag)
    for arm, members in ARMS.items():
        if members == parts:
            return arm
    return "+" + "+".join(parts)


def settings(args) -> dict:
    if args.tiny:
        return {
            "games": ("Breakout-MinAtar",),
            "arms": ("muzero", "efficientzero"),
            "seeds": 1,
            "overrides": {
                "network": {"hidden_size": 32, "num_layers": 1, "latent_size": 16},
                "actor": {"num_envs": 8, "unroll_length": 8},
                "replay": {"capacity": 2_048, "min_size": 64},
                "learner": {"batch_size": 16, "updates_per_iteration": 2, "warmup_steps": 5},
                "run": {"max_env_steps": 256},
                "eval": {"num_games": 2, "interval_env_steps": 128},
            },
        }
    scale = {"games": GAMES, "arms": tuple(ARMS), "seeds": 3, "overrides": {}}
    if args.paper_scale:  # more seeds and every fast MinAtar game (Seaquest is ~100x slower)
        scale |= {"games": (*GAMES, "Asterix-MinAtar", "Freeway-MinAtar"), "seeds": 10}
    return scale


def run_overrides(s: dict, base, game: str, arm: str, seed: int) -> dict[str, dict]:
    o = arm_overrides(arm, base)
    for section, fields in s["overrides"].items():
        o[section] = o.get(section, {}) | fields
    o["env"] = {"id": game}
    # No snapshots, and a checkpoint every 2 minutes (an interrupted run resumes from it).
    o["run"] = o.get("run", {}) | {
        "seed": seed, "snapshot_interval_s": 0.0, "checkpoint_interval_s": 120.0,
        "tensorboard": False,
    }  # fmt: skip
    return o


def train_all(args, s: dict, folder: pathlib.Path) -> list[pathlib.Path]:
    """Train the runs not already finished under `folder`/runs (resuming an unfinished one
    from its checkpoint); returns every finished run directory."""
    from configs import get_preset
    from muzero.runtime import checkpointing, training

    base = get_preset(PRESET)
    runs_dir = folder / "runs"
    found = {}
    # records/ first: a run trained again under runs/ (a record without its summary) wins.
    configs = [*sorted((folder / RECORDS).glob("**/config.json"))]
    for config_path in configs + sorted(runs_dir.glob("**/config.json")):
        config = read_config(config_path.parent)
        found[(config.env.id, arm_of(config), config.run.seed)] = config_path.parent
    for game in s["games"]:
        for seed in range(args.seed, args.seed + s["seeds"]):
            for arm in s["arms"]:
                run_dir = found.get((game, arm, seed))
                if run_dir is not None and (run_dir / "summary.json").exists():
                    continue
                config = common.configure(PRESET, run_overrides(s, base, game, arm, seed), runs_dir)
                print(f"training {arm} on {game}, seed {seed}", flush=True)
                resume = None
                if run_dir is not None and checkpointing.latest_step(run_dir) is not None:
                    resume = run_dir
                done = training.run(config, resume=resume, evaluate_at_end=True)
                found[(game, arm, seed)] = done
                if not args.keep_checkpoints:
                    import shutil

                    shutil.rmtree(done / "checkpoints", ignore_errors=True)
    return [d for d in found.values() if (d / "summary.json").exists()]


def archive(folder: pathlib.Path, runs: list[dict]) -> None:
    """Copy each finished run's config.json, metrics.jsonl and summary.json (a few tens of kB;
    not its checkpoints) to `folder`/records/<game>/<arm>/seed<N>/, which is committed with the
    report (runs/ is not), so `--resume-folder` can continue the experiment on another
    machine and `--from-runs <folder>/records` can redo the report."""
    import shutil

    for r in runs:
        source = pathlib.Path(r["run_dir"])
        target = folder / RECORDS / r["game"] / r["arm"] / f"seed{r['seed']}"
        if source.resolve() == target.resolve():
            continue
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "metrics.jsonl", "summary.json"):
            shutil.copy2(source / name, target / name)


def read_config(run_dir: pathlib.Path):
    from muzero.runtime.runs import load_run_config

    return load_run_config(run_dir)


def read_run(run_dir: pathlib.Path) -> dict:
    config = read_config(run_dir)
    rows = common.read_metrics(run_dir)
    points = common.eval_points(
        rows,
        lambda row: (
            {"eval_return": float(row["eval/mean_return"])} if "eval/mean_return" in row else None
        ),
    )
    summary = json.loads((run_dir / "summary.json").read_text())
    return {
        "game": config.env.id,
        "arm": arm_of(config),
        "seed": config.run.seed,
        "points": points,
        "final_return": points[-1]["eval_return"] if points else float("nan"),
        "late_return": late_mean(points),
        "env_steps": int(summary["env_steps"]),
        "updates": int(summary["updates"]),
        "elapsed_s": float(summary["elapsed_s"]),
        "run_dir": str(run_dir),
    }


def late_mean(points: list[dict]) -> float:
    """The mean evaluation return over the second half of the run's env steps: a steadier
    summary than the last evaluation alone, which swings between neighbouring checkpoints."""
    if not points:
        return float("nan")
    half = points[-1]["env_steps"] / 2
    by_step = {q["env_steps"]: q["eval_return"] for q in points if q["env_steps"] >= half}
    return float(np.mean(list(by_step.values())))


def final_aggregates(
    runs: list[dict], game: str, arms: list[str], key: str = "final_return"
) -> aggregates.Aggregates:
    """Per arm on one game: the mean (and IQM, median) of the runs' `key` over seeds with 95%
    stratified-bootstrap intervals (one task: the runs are resampled)."""
    scores = {}
    for arm in arms:
        finals = [r[key] for r in runs if r["game"] == game and r["arm"] == arm]
        if finals:
            scores[arm] = np.asarray(finals, float)[:, None]  # [seeds, 1 task]
    return aggregates.aggregate_scores(scores)


def arm_table(runs: list[dict], game: str, agg: aggregates.Aggregates, key: str) -> str:
    """Markdown: per arm the mean over seeds with its 95% interval, and every seed's value."""
    lines = ["| arm | mean [95% CI] | seeds |", "|---|---|---|"]
    for arm, by_metric in agg.items():
        mean, low, high = by_metric["mean"]
        seeds = sorted((r["seed"], r[key]) for r in runs if r["game"] == game and r["arm"] == arm)
        values = ", ".join(f"{value:.2f} (seed {seed})" for seed, value in seeds)
        lines.append(f"| {arm} | {mean:.2f} [{low:.2f}, {high:.2f}] | {values} |")
    return "\n".join(lines)


def verdict(game: str, agg: aggregates.Aggregates, seeds: dict[str, int], score: str) -> str:
    """What the intervals establish on one game: each arm against plain MuZero, and whether
    every addition together reaches the bar this experiment was set (at least twice plain
    MuZero's mean, 95% intervals apart). `seeds`: runs per arm; an arm with one has no
    interval, so nothing is claimed for it."""
    if seeds.get("muzero", 0) < 2:
        return f"{game}: fewer than two plain MuZero runs: no interval to compare with."
    plain, plain_low, plain_high = agg["muzero"]["mean"]
    lines = []
    for arm, by_metric in agg.items():
        if arm == "muzero":
            continue
        mean, low, high = by_metric["mean"]
        ratio = f"{mean / plain:.2f}x plain" if plain > 0 else "plain scored 0"
        if seeds[arm] < 2:
            word = "one seed, no interval: not compared"
        elif low > plain_high:
            word = "better than plain MuZero (95% intervals apart)"
        elif high < plain_low:
            word = "worse than plain MuZero (95% intervals apart)"
        else:
            word = "not distinguishable from plain MuZero (95% intervals overlap)"
        lines.append(f"- {arm} ({seeds[arm]} seeds): {mean:.2f} [{low:.2f}, {high:.2f}], "
                     f"{ratio}; {word}")  # fmt: skip
    text = f"{game}: plain MuZero ({seeds['muzero']} seeds) {plain:.2f} "
    text += f"[{plain_low:.2f}, {plain_high:.2f}].\n\n" + "\n".join(lines)
    if seeds.get("efficientzero", 0) >= 2:
        mean, low, _ = agg["efficientzero"]["mean"]
        met = mean >= 2 * plain and low > plain_high
        text += (
            f"\n\nEvery addition together {'reaches' if met else 'does not reach'} twice plain "
            f"MuZero's mean {score} with 95% intervals apart."
        )
    return text


def plot_curves(path: pathlib.Path, game: str, runs: list[dict], arms: list[str]) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, arm in enumerate(arms):
        members = [r for r in runs if r["game"] == game and r["arm"] == arm]
        if not members:
            continue
        band = common.seed_band([common.curve(r["points"], "eval_return") for r in members])
        color = plt.get_cmap("tab10")(k % 10)
        ax.plot(band["x"], band["mean"], color=color, label=f"{arm} ({len(members)} seeds)")
        ax.fill_between(band["x"], band["low"], band["high"], color=color, alpha=0.15)
    ax.set_xlabel("env steps")
    ax.set_ylabel("mean greedy return (100 episodes)")
    ax.set_title(f"{game}: mean over seeds; band = min to max")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def main(argv: list[str] | None = None) -> pathlib.Path:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, help="seeds per arm and game: --seed and up (default 3)")
    p.add_argument("--games", help=f"comma-separated MinAtar ids (default {','.join(GAMES)})")
    p.add_argument("--arms", help=f"comma-separated arms of {','.join(ARMS)} (default all)")
    p.add_argument("--resume-folder", type=pathlib.Path, help="continue the experiment there")
    p.add_argument("--from-runs", type=pathlib.Path, help="analyse the runs there, train none")
    p.add_argument("--keep-checkpoints", action="store_true", help="keep the runs' checkpoints")
    args = p.parse_args(argv)
    check_range(args, ["seeds"], 1)
    s = settings(args)
    if args.seeds:
        s["seeds"] = args.seeds
    if args.games:
        s["games"] = tuple(args.games.split(","))
    if args.arms:
        s["arms"] = tuple(args.arms.split(","))
        unknown = sorted(set(s["arms"]) - set(ARMS))
        if unknown:
            fail(f"--arms: unknown {', '.join(unknown)}; arms are {', '.join(ARMS)}")
    if args.resume_folder:
        folder = args.resume_folder
        if not folder.is_dir():
            fail(f"--resume-folder {folder} is not a folder")
    else:
        folder = common.results_folder(args.out, NAME)
    if args.from_runs:
        run_dirs = sorted(d.parent for d in args.from_runs.glob("**/summary.json"))
    else:
        run_dirs = train_all(args, s, folder)
    runs = [read_run(d) for d in run_dirs]
    if not runs:
        fail("no finished run")
    archive(folder, runs)
    report(args, folder, runs)
    print(f"wrote {folder}")
    return folder


def report(args, folder: pathlib.Path, runs: list[dict]) -> None:
    games = sorted({r["game"] for r in runs}, key=lambda g: (g not in GAMES, g))
    arms = [a for a in ARMS if any(r["arm"] == a for r in runs)]
    arms += sorted({r["arm"] for r in runs} - set(arms))
    write_csv(folder / "data" / "runs.csv", [
        {k: v for k, v in r.items() if k != "points"} for r in runs
    ])  # fmt: skip
    bands = common.seed_bands(runs, lambda r: (r["game"], r["arm"]), "eval_return")
    common.write_curves(folder, runs, bands, ("game", "arm"))
    results, established, rows = [], [], []
    for game in games:
        seeds = {arm: sum(r["game"] == game and r["arm"] == arm for r in runs) for arm in arms}
        agg = final_aggregates(runs, game, arms)
        late = final_aggregates(runs, game, arms, "late_return")
        rows += [{"game": game, "score": "final"} | r for r in aggregates.aggregate_rows(agg)]
        rows += [{"game": game, "score": "late"} | r for r in aggregates.aggregate_rows(late)]
        slug = game.split("-")[0].lower()
        plot_curves(folder / "figures" / f"curves_{slug}.png", game, runs, arms)
        for name, scores in (("final", agg), ("late", late)):
            aggregates.plot_interval_estimates(
                scores, folder / "figures" / f"{name}_{slug}.png",
                xlabel=f"{name} mean greedy return", metrics=("mean",),
            )  # fmt: skip
        results.append(
            f"### {game}\n\n![curves](figures/curves_{slug}.png)\n\n"
            f"![final returns](figures/final_{slug}.png)\n\n"
            f"![second-half returns](figures/late_{slug}.png)\n\n"
            + "Final return (the last evaluation, at the run's last step):\n\n"
            + arm_table(runs, game, agg, "final_return")
            + "\n\nMean evaluation return over the second half of each run (every evaluation "
            "from half the steps on; steadier than the last one):\n\n"
            + arm_table(runs, game, late, "late_return")
        )
        established.append(
            "Final return. " + verdict(game, agg, seeds, "final return") + "\n\n"
            "Second-half return. " + verdict(game, late, seeds, "second-half return")
        )
    write_csv(folder / "data" / "final.csv", rows)
    common.write_report(
        folder,
        "EfficientZero's additions, one by one, on MinAtar",
        sections(args, runs, results, established),
    )


def sections(
    args, runs: list[dict], results: list[str], established: list[str]
) -> list[tuple[str, str]]:
    config = read_config(pathlib.Path(runs[0]["run_dir"]))
    seeds = sorted({r["seed"] for r in runs})
    steps = sorted({r["env_steps"] for r in runs})
    updates = sorted({r["updates"] for r in runs})
    minutes = {a: np.mean([r["elapsed_s"] for r in runs if r["arm"] == a]) / 60 for a in ARMS
               if any(r["arm"] == a for r in runs)}  # fmt: skip
    setup = (
        f"Preset `{PRESET}` ({config.actor.num_envs} environments x "
        f"{config.actor.unroll_length} steps per acting call, "
        f"{config.learner.updates_per_iteration} updates of batch {config.learner.batch_size} "
        f"per call, K = {config.learner.unroll_steps}, n = {config.learner.td_steps}, "
        f"{config.search.num_simulations} simulations of Gumbel MuZero). {len(runs)} runs: "
        f"seeds {', '.join(map(str, seeds))}; env steps per run "
        f"{', '.join(f'{x:,}' for x in steps)}; "
        f"updates per run {', '.join(f'{x:,}' for x in updates)}. Arms: "
        + "; ".join(f"{arm} = {', '.join(ARMS[arm]) or 'no addition'}" for arm in ARMS)
        + f". Final return = the mean of {config.eval.num_games} greedy episodes at the run's "
        "last step (and every "
        f"{config.eval.interval_env_steps:,} env steps for the curves); the intervals are 95% "
        "stratified-bootstrap intervals over seeds (2,000 resamples, seed 0): with "
        f"{len(seeds)} seed(s) they span little more than the seeds' range. Mean wall time per "
        "run (on the machine below, which may have been shared): "
        + ", ".join(f"{arm} {m:.1f} min" for arm, m in minutes.items())
        + (". This is the tiny smoke mode: its numbers mean nothing." if args.tiny else ".")
    )
    unknown = (
        f"{len(seeds)} seeds per arm: the intervals show the spread between seeds, and an "
        "effect smaller than that spread is not resolved. The runs stop at a fixed number of "
        "environment steps; with more steps the ranking may change (the additions cost wall "
        "time: see the minutes above). MinAtar is not Atari: whether these effects carry to "
        "Atari 100k (`experiments/atari100k.py`, a GPU) is not measured here. What the value "
        "prefix changes inside the learned model (its rewards along real actions, how far the "
        "root's children differ) is probed by `experiments/value_prefix_model.py`."
    )
    return [
        ("Setup", setup),
        ("Result", "\n\n".join(results)),
        ("Published", PUBLISHED),
        ("Established", "\n\n".join(established)),
        ("Unknown", unknown),
    ]


if __name__ == "__main__":
    main()
