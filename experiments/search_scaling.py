"""Search scaling at evaluation (MuZero, Schrittwieser et al. 2020, Figure 3A).

One trained board-game agent plays with 1 to 800 simulations per move against fixed
opponents (random and reference MCTS players that search the true rules) and against itself
at neighbouring budgets; a Bradley-Terry fit gives Elo with 95% intervals per budget.

    python experiments/search_scaling.py                         # trains connect_four (25 min)
    python experiments/search_scaling.py --run runs/connect_four/<time>
    python experiments/search_scaling.py --paper-scale           # 4 h training, up to 1600
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from experiments import common  # noqa: E402

NAME = "search_scaling"
PUBLISHED = (
    "MuZero paper, Figure 3A (Go 19x19; network trained with 800 simulations per move, about "
    "0.1 s): playing strength keeps rising with search time per move, and the learned model "
    "scales to searches about two orders of magnitude longer than in training, close to the "
    "same search with the true simulator. The published shape: Elo rising steadily with the "
    "search budget, roughly linearly in its logarithm, with no collapse beyond the training "
    "budget."
)


def settings(args) -> dict:
    if args.tiny:
        return {
            "preset": "smoke",
            "train": {"run": {"max_iterations": 3, "time_budget_s": 0.0}},
            "simulations": [1, 2, 4],
            "anchors": ["random", "mcts-2"],
            "games": 2,
        }
    if args.paper_scale:
        return {
            "preset": "connect_four",
            "train": {"run": {"time_budget_s": 4 * 3600.0}},
            "simulations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 800, 1600],
            "anchors": ["random", "mcts-16", "mcts-64", "mcts-256", "mcts-1024"],
            "games": 100,
        }
    return {
        "preset": "connect_four",
        "train": {},
        "simulations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 800],
        "anchors": ["random", "mcts-16", "mcts-64", "mcts-256"],
        "games": 20,
    }


def main(argv: list[str] | None = None) -> pathlib.Path:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument(
        "--run", type=pathlib.Path, help="a trained two-player run (else one is trained)"
    )
    p.add_argument("--games", type=int, help="games per pairing and seat")
    args = p.parse_args(argv)
    s = settings(args)
    games = args.games or s["games"]
    folder = common.results_folder(args.out, NAME)

    run_dir = args.run or common.train(s["preset"], s["train"], folder / "runs")
    run_dir, step, config, c, params = common.load_agent(run_dir, games)
    levels = [f"sims-{n}" for n in s["simulations"]]
    players = {
        f"sims-{n}": common.learned_model_player(c, config, params, n) for n in s["simulations"]
    }
    anchors = s["anchors"]
    pairs = [(level, anchor) for level in levels for anchor in anchors]
    pairs += list(zip(levels, levels[1:], strict=False))
    rows, _ = common.rate(c.env, players, anchors, pairs, games, args.seed, folder)
    for r in rows:
        r["simulations"] = int(r["player"].split("-")[1]) if r["player"] in levels else None
    rows.sort(key=lambda r: (r["simulations"] is not None, r["simulations"] or 0, r["elo"]))
    common.write_csv(folder / "data" / "ratings.csv", rows)
    plot(folder / "figures" / "elo_vs_simulations.png", rows, config, step)

    agent = [r for r in rows if r["simulations"] is not None]
    trained_at = config.search.num_simulations
    monotone = all(b["elo"] >= a["elo"] - 1e-9 for a, b in zip(agent, agent[1:], strict=False))
    above = [r for r in agent if r["simulations"] > trained_at]
    at_train = next((r for r in agent if r["simulations"] == trained_at), None)
    gain = (
        max(r["elo"] for r in above) - at_train["elo"] if above and at_train is not None else None
    )
    common.write_report(
        folder,
        "Search scaling at evaluation",
        [
            (
                "Setup",
                f"Agent: `{run_dir}` (preset `{config.preset}`, {config.env.id}), "
                f"iteration {step}, trained with {trained_at} simulations per move "
                f"({config.search.algorithm} search). Budgets: {', '.join(levels)}. Fixed "
                f"opponents: {', '.join(anchors)} (mcts-N: N simulations on pgx's true rules, "
                f"random playouts). {games} games per pairing and seat; every budget plays every "
                "fixed opponent and the next budget. Elo: Bradley-Terry maximum a posteriori fit "
                "of all games, random = 0, 95% intervals from the observed information.",
            ),  # fmt: skip
            (
                "Result",
                common.markdown_table(rows) + "\n\n![Elo against simulations]"
                "(figures/elo_vs_simulations.png)",
            ),  # fmt: skip
            ("Published", PUBLISHED),
            ("Established", verdict(agent, monotone, gain, trained_at)),
            (
                "Unknown",
                "One agent, one seed, one small board game; whether the gain keeps "
                "growing with a stronger network, and how it compares with the true simulator at "
                "the same budget (experiment `learned_vs_true_model`), are not measured here. "
                "Intervals are statistical only: they do not include seed-to-seed variation.",
            ),  # fmt: skip
        ],
    )
    print(f"wrote {folder}")
    return folder


def verdict(agent: list[dict], monotone: bool, gain: float | None, trained_at: int) -> str:
    first, last = agent[0], agent[-1]
    text = (
        f"Elo went from {first['elo']:.0f} at {first['simulations']} simulation(s) to "
        f"{last['elo']:.0f} at {last['simulations']}; "
        + (
            "it never fell from one budget to the next. "
            if monotone
            else "it was not monotone across budgets (see the table; neighbouring budgets may be "
            "within each other's intervals). "
        )  # fmt: skip
    )
    if gain is not None:
        text += (
            f"Beyond the training budget ({trained_at}) the best budget gained {gain:.0f} Elo "
            "over the training budget, " + ("so the learned model keeps paying for more search "
            "past what it was trained with, as in the paper." if gain > 0 else "so in this run "
            "more search than in training did not help: the shape was not reproduced there.")
        )  # fmt: skip
    return text


def plot(path: pathlib.Path, rows: list[dict], config, step: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from muzero.elo import draw_fixed_players

    agent = [r for r in rows if r["simulations"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [r["simulations"] for r in agent]
    y = [r["elo"] for r in agent]
    err = [[r["elo"] - r["ci_low"] for r in agent], [r["ci_high"] - r["elo"] for r in agent]]
    ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label="MuZero (learned model)")
    draw_fixed_players(ax, [r for r in rows if r["simulations"] is None])
    ax.axvline(config.search.num_simulations, color="tab:orange", linewidth=0.8,
               label="training simulations")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlabel("simulations per move at evaluation")
    ax.set_ylabel("Elo (random = 0)")
    ax.set_title(f"{config.env.id}: search scaling (iteration {step})")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
