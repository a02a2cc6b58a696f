"""Atari 100k (EfficientZero protocol): 26 games, 100k agent steps each, human-normalized.

Each game and seed trains the `atari100k` preset for 100k agent steps (400k frames at frame
skip 4, no sticky actions), then plays greedy evaluation episodes with search: 32 per game and
seed, as EfficientZero's code does (`test_episodes=32`), each cut at 27,000 agent steps
(108,000 frames). A game's score is its mean return, human-normalized ((score - random) /
(human - random), `muzero.evaluation.atari_scores`). The aggregates are rliable's (Agarwal et al.
2021, `experiments.aggregates`) over the seeds x games matrix: interquartile mean, median, mean and
optimality gap with 95% stratified-bootstrap intervals (each game's seeds resampled; with one seed
per game the games are resampled instead), drawn as interval estimates and a performance profile.

The full protocol needs a GPU: on this project's 2-core CPU one update of the atari100k network
takes seconds (../shared/STACK_NOTES.md), so 100k updates would take weeks per game. On one H100
the first 21k agent steps of Pong ran at about 66 agent steps/s (one update of batch 256 per
step), which extrapolates to about 26 minutes of training per game and 11 to 12 hours per seed
for the 26 games; no whole game has been timed (`data/games.csv` records each game's training
and evaluation wall time). The protocol is long, so it resumes game by game: `--resume-folder`
skips the games whose results are in that folder and continues an interrupted training from its
last checkpoint. On the 2-core CPU, `--tiny` took about 1.3 minutes and `--smoke` about 3.

    python experiments/atari100k.py                        # 26 games, 1 seed (GPU)
    python experiments/atari100k.py --paper-scale          # 26 games, 3 seeds, as EfficientZero
    python experiments/atari100k.py --games Pong,Breakout --seeds 2
    python experiments/atari100k.py --resume-folder experiments/results/<time>-atari100k
    python experiments/atari100k.py --smoke                # CPU: Pong, atari_smoke, 4,000 steps
    python experiments/atari100k.py --tiny                 # CPU: seconds, the pipeline only
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import envs  # noqa: E402
from experiments import aggregates, common  # noqa: E402
from muzero.cli.common import check_range, fail  # noqa: E402

NAME = "atari100k"
# Ye et al. 2021, "Mastering Atari Games with Limited Data" (NeurIPS), Table 1: human-normalized
# mean and median over the 26 games, 3 runs each evaluated on 32 episodes.
EFFICIENTZERO = {"mean": 1.943, "median": 1.090}
BOOTSTRAP_REPS = 2000  # rliable's default for performance profiles; ample for a 95% interval
PUBLISHED = (
    'EfficientZero (Ye et al. 2021, "Mastering Atari Games with Limited Data", NeurIPS, '
    'Table 1, "3 runs with 32 seeds"): human-normalized mean 194.3% and median 109.0% over the '
    "26 Atari 100k games after 100k agent steps (400k frames) per game; the arXiv v1 abstract "
    "gave 190.4% and 116.0%. EfficientZero's code (YeWR/EfficientZero, config/atari) evaluates "
    "32 episodes per run, the final ones capped at 108,000 frames; it trains with life-loss "
    "episode ends, clipped rewards and training episodes of at most 12,000 frames."
)


def settings(args) -> dict:
    """The protocol: preset, training overrides (per game the env id and seed are added),
    games, seeds and evaluation episodes per game and seed."""
    if args.tiny:
        return {
            "mode": "tiny",
            "preset": "atari_smoke",
            "train": {
                "env": {"max_episode_steps": 100},
                "run": {"max_iterations": 2, "max_env_steps": 0},
            },
            "games": ("pong",),
            "seeds": 1,
            "episodes": 1,
        }
    if args.smoke:
        return {
            "mode": "smoke",
            "preset": "atari_smoke",
            "train": {"run": {"max_env_steps": 4_000, "max_iterations": 0}},
            "games": ("pong",),
            "seeds": 1,
            "episodes": 2,
        }
    from muzero.evaluation.atari_scores import ATARI_100K_GAMES

    return {
        "mode": "paper-scale" if args.paper_scale else "full",
        "preset": "atari100k",
        "train": {"run": {"max_env_steps": 100_000}},
        "games": ATARI_100K_GAMES,
        "seeds": 3 if args.paper_scale else 1,  # EfficientZero: 3 runs per game
        "episodes": 32,  # EfficientZero: 32 evaluation episodes per run
    }


def parse(argv: list[str] | None):
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument(
        "--smoke", action="store_true", help="CPU smoke run: Pong, atari_smoke, 4,000 steps"
    )
    p.add_argument("--games", help="comma-separated games (Pong,Breakout; default: the 26)")
    p.add_argument(
        "--seeds", type=int, help="training seeds per game (default 1; 3 at paper scale)"
    )
    p.add_argument("--episodes", type=int, help="evaluation episodes per game and seed")
    p.add_argument(
        "--resume-folder",
        type=pathlib.Path,
        help="a results folder of this experiment to complete: games with results are skipped",
    )
    p.add_argument(
        "--keep-state",
        action="store_true",
        help="keep each finished run's full training state (replay included: about 2.8 GB "
        "per atari100k checkpoint); by default only its parameters are kept",
    )
    args = p.parse_args(argv)
    if sum([args.tiny, args.smoke, args.paper_scale]) > 1:
        fail("--tiny, --smoke and --paper-scale exclude each other")
    check_range(args, ("seeds", "episodes"), 1)
    s = settings(args)
    if args.games:
        from envs.atari import rom_id
        from muzero.evaluation.atari_scores import REFERENCE_SCORES

        try:
            s["games"] = tuple(rom_id(g.strip()) for g in args.games.split(",") if g.strip())
        except ValueError as error:
            fail(str(error))
        unscored = [g for g in s["games"] if g not in REFERENCE_SCORES]
        if unscored or not s["games"]:
            fail(f"no human reference score for {', '.join(unscored) or 'an empty list'}")
    s["seeds"] = args.seeds or s["seeds"]
    s["episodes"] = args.episodes or s["episodes"]
    if args.resume_folder is not None and not args.resume_folder.is_dir():
        fail(f"--resume-folder {args.resume_folder} is not a folder")
    return args, s


def main(argv: list[str] | None = None) -> pathlib.Path:
    args, s = parse(argv)
    if args.resume_folder is not None:
        folder = args.resume_folder
        for sub in ("data", "figures"):
            (folder / sub).mkdir(exist_ok=True)
    else:
        folder = common.results_folder(args.out, NAME)
    protocol = {"preset": s["preset"], "train": s["train"], "episodes": s["episodes"]}
    seeds = list(range(args.seed, args.seed + s["seeds"]))
    records = {}
    for game in s["games"]:
        for seed in seeds:
            records[game, seed] = play_game(folder, protocol, game, seed, args.keep_state)

    rows = [records[game, seed]["row"] for game in s["games"] for seed in seeds]
    common.write_csv(folder / "data" / "games.csv", rows)
    episodes = [
        {"game": game, "seed": seed, "episode": i, "return": r, "human_normalized": h}
        for (game, seed), record in records.items()
        for i, (r, h) in enumerate(zip(record["returns"], record["human_normalized"], strict=True))
    ]
    common.write_csv(folder / "data" / "episodes.csv", episodes)
    scores = np.array([[records[g, seed]["row"]["human_normalized"] for seed in seeds]
                       for g in s["games"]])  # fmt: skip
    summary, intervals = aggregate(scores.T, args.seed)
    common.write_csv(folder / "data" / "aggregate.csv", summary)
    plot(folder / "figures" / "human_normalized.png", s["games"], scores, summary, s["mode"])
    plot_aggregates(folder / "figures", scores.T, intervals, s["mode"], args.seed)

    env_steps = sorted({r["env_steps"] for r in rows})
    train_s = sum(r["train_wall_s"] for r in rows)
    eval_s = sum(r["eval_wall_s"] for r in rows)
    resampled = "each game's seeds resampled" if len(seeds) > 1 else "one seed: games resampled"
    common.write_report(
        folder,
        "Atari 100k (EfficientZero protocol)",
        [
            (
                "Setup",
                f"Mode `{s['mode']}`: preset `{s['preset']}` with overrides `{s['train']}`; "
                f"{len(s['games'])} game(s): {', '.join(s['games'])}; seeds {seeds}. Agent "
                f"steps per run: {', '.join(f'{n:,}' for n in env_steps)} (frame skip "
                f"{records[rows[0]['game'], rows[0]['seed']]['frame_skip']}; training stops at "
                "the first whole iteration past the budget). Evaluation: "
                f"{s['episodes']} greedy episode(s) per game and seed with search, each cut at "
                f"{rows[0]['eval_max_steps']:,} agent steps, up to 30 no-ops at the start. "
                "Score: mean return, human-normalized; rliable's aggregates of the seeds x "
                "games matrix (IQM over all runs, median and mean over games of the per-game "
                "mean over seeds, optimality gap below human level), 95% percentile intervals "
                f"of {BOOTSTRAP_REPS:,} stratified-bootstrap resamples ({resampled}, seed "
                f"{args.seed}). Wall time: "
                f"{train_s:,.0f} s training and {eval_s:,.0f} s evaluation in all, on "
                f"{common.machine()}.",
            ),
            (
                "Result",
                common.markdown_table(rows, [c for c in rows[0] if c != "run_dir"])
                + "\n\n"
                + aggregates.aggregates_table(intervals, percent=True)
                + "\n\n![Human-normalized score per game](figures/human_normalized.png)"
                + "\n\n![Aggregates with 95% intervals](figures/aggregates.png)"
                + "\n\n![Performance profile](figures/performance_profile.png)",
            ),
            ("Published", PUBLISHED),
            ("Established", verdict(s, summary, env_steps)),
            ("Unknown", unknown(s)),
        ],
    )
    print(f"wrote {folder}")
    return folder


def play_game(folder: pathlib.Path, protocol: dict, game: str, seed: int, keep_state: bool):
    """Train and evaluate one game and seed, or read its record if the folder has it."""
    path = folder / "data" / "per_game" / f"{game}-seed{seed}.json"
    if path.exists():
        record = json.loads(path.read_text())
        if record["protocol"] != json.loads(json.dumps(protocol)):
            fail(
                f"{path} was made with {record['protocol']}, not {protocol}; "
                "resume into a folder of the same mode"
            )
        print(f"{game} seed {seed}: already done, skipped")
        return record
    run_dir = train_game(folder / "runs" / f"{game}-seed{seed}", protocol, game, seed)
    start = time.perf_counter()
    details, config = evaluate_run(run_dir, protocol["episodes"], seed)
    eval_s = time.perf_counter() - start
    summary = json.loads((run_dir / "summary.json").read_text())
    row = {
        "game": game,
        "seed": seed,
        "env_steps": int(summary["env_steps"]),
        "frames": int(summary["env_steps"]) * config.env.frame_skip,
        "updates": int(summary["updates"]),
        "episodes": details["episodes"],
        "mean_return": details["mean_return"],
        "human_normalized": float(np.mean(details["human_normalized"])),
        "eval_max_steps": config.env.max_episode_steps,
        "train_wall_s": float(summary["elapsed_s"]),
        "eval_wall_s": eval_s,
        "run_dir": str(run_dir.relative_to(folder.resolve())),
    }
    record = {
        "protocol": protocol,
        "frame_skip": config.env.frame_skip,
        "row": row,
        "returns": details["returns"],
        "human_normalized": details["human_normalized"],
    }
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    if not keep_state:
        drop_training_state(run_dir)
    print(f"{game} seed {seed}: {row['human_normalized']:.1%} human-normalized")
    return record


def train_game(runs_dir: pathlib.Path, protocol: dict, game: str, seed: int) -> pathlib.Path:
    """The finished run of a game and seed: trained here, or an interrupted one continued."""
    from muzero.runtime import checkpointing
    from muzero.runtime.runs import load_run_config
    from muzero.runtime.training import run

    runs = sorted((runs_dir / protocol["preset"]).glob("*/config.json"))
    for run_dir in reversed([c.parent.resolve() for c in runs]):
        if (run_dir / "summary.json").exists():
            return run_dir
        try:
            checkpointing.resolve(run_dir)
        except checkpointing.CheckpointError:
            continue  # stopped before its first checkpoint: nothing to continue
        print(f"{game} seed {seed}: continuing {run_dir}")
        return run(load_run_config(run_dir), resume=run_dir, evaluate_at_end=False)
    train = protocol["train"]
    overrides = {
        **train,
        "env": {**train.get("env", {}), "id": envs.canonical_id(f"ALE/{game}")},
        "run": {**train.get("run", {}), "seed": seed},
    }
    return common.train(protocol["preset"], overrides, runs_dir).resolve()


def evaluate_run(run_dir: pathlib.Path, episodes: int, seed: int):
    """Greedy evaluation of a run's last checkpoint: (`return_statistics` details, config)."""
    from muzero.agent import load_params
    from muzero.evaluation.matches import evaluate
    from muzero.runtime import checkpointing
    from muzero.runtime.components import build
    from muzero.runtime.runs import load_run_config

    run_dir, step = checkpointing.resolve(run_dir)
    config = load_run_config(run_dir)
    config = config.replace(eval=dataclasses.replace(config.eval, num_games=episodes))
    c = build(config)
    # Emulator seeds away from the training run's (run seed + 7919 x iteration).
    details = evaluate(c, load_params(run_dir, step, config), 1_000_003 + seed)["details"]
    return details, config


def drop_training_state(run_dir: pathlib.Path) -> None:
    """Delete the checkpoints' replay and optimizer state, keeping their parameters: 26 games
    of atari100k checkpoints would not fit on one disk. `make eval RUN=...` still works."""
    for step in (run_dir / "checkpoints").iterdir():
        if (step / "state").is_dir() and (step / "params").is_dir():
            shutil.rmtree(step / "state")


def aggregate(scores: np.ndarray, seed: int) -> tuple[list[dict], aggregates.Aggregates]:
    """rliable's aggregates of [S, G] human-normalized scores (seeds x games): one row per
    metric (value, 95% interval, EfficientZero's published value) and the helper's result."""
    seeds, games = scores.shape
    # One seed per game leaves no runs to resample (the interval would be a point): resample
    # the games instead, so the interval shows how much the choice of games moves it.
    intervals = aggregates.aggregate_scores(
        {"this run": scores}, reps=BOOTSTRAP_REPS, seed=seed, task_bootstrap=seeds == 1
    )
    rows = [
        {"metric": metric, "human_normalized": value, "ci_low": low, "ci_high": high,
         "efficientzero": EFFICIENTZERO.get(metric), "games": games, "seeds": seeds}
        for metric, (value, low, high) in intervals["this run"].items()
    ]  # fmt: skip
    return rows, intervals


def plot_aggregates(
    figures: pathlib.Path,
    scores: np.ndarray,
    intervals: aggregates.Aggregates,
    mode: str,
    seed: int,
) -> None:
    """figures/aggregates.png (interval estimates beside EfficientZero's published mean and
    median) and figures/performance_profile.png of [S, G] human-normalized scores."""
    aggregates.plot_interval_estimates(
        intervals,
        figures / "aggregates.png",
        xlabel=f"human-normalized score ({mode})",
        references={"EfficientZero": EFFICIENTZERO},
    )
    taus = np.linspace(min(0.0, scores.min()), max(2.0, scores.max()), 101)
    profiles = aggregates.performance_profiles(
        {"this run": scores}, taus, reps=BOOTSTRAP_REPS, seed=seed
    )
    aggregates.plot_performance_profiles(
        profiles, taus, figures / "performance_profile.png", xlabel=r"human-normalized score $\tau$"
    )


def verdict(s: dict, summary: list[dict], env_steps: list[int]) -> str:
    by = {a["metric"]: a for a in summary}
    games, seeds = by["mean"]["games"], by["mean"]["seeds"]
    text = "; ".join(
        f"human-normalized {m} {by[m]['human_normalized']:.1%} "
        f"[{by[m]['ci_low']:.1%}, {by[m]['ci_high']:.1%}]"
        for m in ("mean", "median", "iqm")
    )
    text = text[0].upper() + text[1:] + f" over {games} game(s) and {seeds} seed(s) each"
    text += " (one game and one seed: the intervals are a point). " if games * seeds == 1 else ". "
    if s["preset"] != "atari100k":
        return text + (
            f"This is a CPU `{s['mode']}` run of the pipeline ({s['preset']} preset, a toy "
            f"network, {max(env_steps):,} agent steps instead of 100,000, {s['episodes']} "
            "evaluation episode(s)): it shows that training, evaluation and scoring run end "
            "to end, and says nothing about the published numbers."
        )
    if min(env_steps) < 100_000:
        text += f"Some runs stopped at {min(env_steps):,} agent steps, short of 100k. "
    if games < 26:
        return text + (
            f"Only {games} of the 26 games: aggregates over a subset are not comparable with "
            "the benchmark's mean and median, so no verdict on the published numbers."
        )
    for metric in ("mean", "median"):
        a = by[metric]
        published = a["efficientzero"]
        if a["ci_low"] <= published <= a["ci_high"]:
            where = "inside our interval: consistent with it"
        elif published > a["ci_high"]:
            where = "above our interval: not reproduced (lower here)"
        else:
            where = "below our interval: exceeded here"
        text += f"EfficientZero's {metric} {published:.1%} lies {where}. "
    return text + (
        "This preset is MuZero at EfficientZero's scale without its self-supervised "
        "consistency loss, value prefix and off-policy correction, which the paper's ablations "
        "credit with much of its score, so it tests that scale, not EfficientZero itself."
    )


def unknown(s: dict) -> str:
    text = (
        "GPU time: only the first 21k agent steps of one game were timed (one H100, about 66 "
        "agent steps/s, so about 26 minutes of training per game, 11 to 12 hours per seed for "
        "the 26 games); search slows as a trained model's priors sharpen, and evaluation time "
        "grows with episode length (up to 27,000 steps), so a whole protocol may take longer "
        "(`train_wall_s` and `eval_wall_s` above are this run's). "
    )
    if s["seeds"] == 1:
        text += (
            "One seed per game: the intervals cover the choice of games and not seed-to-seed "
            "variation, which in Atari 100k is large. "
        )
    return text + (
        "Protocol differences from EfficientZero's code that may move the scores: no life-loss "
        "episode ends, no reward clipping and no cap on training episodes here; ale-py 0.12's "
        "v5 games rather than gym's NoFrameskip-v4; LayerNorm and AdamW rather than batch norm "
        "and SGD (configs/atari.py). Per-game comparison with EfficientZero's Table 1 is not "
        "made: only its aggregates are quoted."
    )


def plot(path: pathlib.Path, games, scores: np.ndarray, summary: list[dict], mode: str):
    from muzero.runtime.plots import pyplot, save_figure

    plt = pyplot()
    by = {a["metric"]: a for a in summary}
    percent = 100 * scores
    x = np.arange(len(games))
    fig, ax = plt.subplots(figsize=(max(8.0, 0.45 * len(games) + 4), 4.8))
    ax.bar(x, percent.mean(axis=1), color="tab:blue", alpha=0.7, label="this run (mean of seeds)")
    if scores.shape[1] > 1:
        for s in range(scores.shape[1]):
            ax.plot(x, percent[:, s], "k.", markersize=4, label="seeds" if s == 0 else None)
    lines = (
        (100 * EFFICIENTZERO["mean"], "tab:red", "--", "EfficientZero mean 194.3%"),
        (100 * EFFICIENTZERO["median"], "tab:red", ":", "EfficientZero median 109.0%"),
        (100 * by["mean"]["human_normalized"], "tab:blue", "--", "this run: mean"),
        (100 * by["median"]["human_normalized"], "tab:blue", ":", "this run: median"),
        (100.0, "grey", "-", "human"),
    )
    for y, color, style, label in lines:
        ax.axhline(y, color=color, linestyle=style, linewidth=1, label=label)
    if np.abs(percent).max() > 1000:
        ax.set_yscale("symlog", linthresh=100)
    ax.set_xticks(x, games, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("human-normalized score (%)")
    ax.set_title(f"Atari 100k ({mode}): human-normalized score per game")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    save_figure(fig, path)


if __name__ == "__main__":
    main()
