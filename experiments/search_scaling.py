"""Search scaling at evaluation (MuZero, Schrittwieser et al. 2020, Figure 3A).

One trained board-game agent plays with 1 to 800 simulations per move against fixed
opponents (random and reference MCTS players that search the true rules) and against itself
at neighbouring budgets; a Bradley-Terry fit gives Elo with 95% intervals per budget.

    python experiments/search_scaling.py                         # trains connect_four (25 min)
    python experiments/search_scaling.py --run runs/connect_four/<time>
    python experiments/search_scaling.py --paper-scale           # 4 h training, up to 1600

For games with a solver (tic-tac-toe, connect four) it also measures the mistake rate against
perfect play at every budget, on the fixed positions of `muzero.evaluation.mistakes`.
"""

from __future__ import annotations

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from experiments import common  # noqa: E402
from muzero.runtime.plots import pyplot, save_figure  # noqa: E402

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
            "positions": 60,
        }
    if args.paper_scale:
        return {
            "preset": "connect_four",
            "train": {"run": {"time_budget_s": 4 * 3600.0}},
            "simulations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 800, 1600],
            "anchors": ["random", "mcts-16", "mcts-64", "mcts-256", "mcts-1024"],
            "games": 100,
            "positions": None,  # the benchmark's default: 800 at connect four
        }
    return {
        "preset": "connect_four",
        "train": {},
        "simulations": [1, 2, 4, 8, 16, 32, 64, 128, 256, 800],
        "anchors": ["random", "mcts-16", "mcts-64", "mcts-256"],
        "games": None,  # one per opening: the 49 two-ply openings of connect four
        "positions": None,
    }


def main(argv: list[str] | None = None) -> pathlib.Path:
    p = common.parser(NAME, __doc__.splitlines()[0])
    p.add_argument(
        "--run", type=pathlib.Path, help="a trained two-player run (else one is trained)"
    )
    p.add_argument(
        "--games", type=int, help="games per pairing and seat (default: one per opening)"
    )
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
    rows, results = common.rate(c.env, players, anchors, pairs, games, args.seed, folder)
    for r in rows:
        r["simulations"] = int(r["player"].split("-")[1]) if r["player"] in levels else None
    rows.sort(key=lambda r: (r["simulations"] is not None, r["simulations"] or 0, r["elo"]))
    common.write_csv(folder / "data" / "ratings.csv", rows)
    plot(folder / "figures" / "elo_vs_simulations.png", rows, config, step)
    mistakes = [
        {"simulations": int(r.pop("player").split("-")[1]), **r}
        for r in common.mistake_rates(c.env, players, s["positions"])
    ]
    if mistakes:
        common.write_csv(folder / "data" / "mistakes.csv", mistakes)
        plot_mistakes(folder / "figures" / "mistakes_vs_simulations.png", mistakes, config, step)

    agent = [r for r in rows if r["simulations"] is not None]
    trained_at = config.search.num_simulations
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
                "random playouts). Every budget plays every fixed opponent and the next budget. "
                + common.match_setup(c.env, games, results)
                + " Elo: Bradley-Terry maximum a posteriori fit of the distinct games, random = "
                "0, 95% intervals from the observed information.",
            ),  # fmt: skip
            (
                "Result",
                common.markdown_table(rows) + "\n\n![Elo against simulations]"
                "(figures/elo_vs_simulations.png)",
            ),  # fmt: skip
            mistake_section(mistakes),
            ("Published", PUBLISHED),
            ("Established", verdict(agent, trained_at) + mistake_verdict(mistakes, trained_at)),
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


def mistake_section(mistakes: list[dict]) -> tuple[str, str]:
    if not mistakes:
        return ("Mistake rate", "No solver for this game: not measured.")
    from muzero.evaluation.mistakes import SELECTION

    return (
        "Mistake rate",
        f"The agent moves once in each of {mistakes[0]['positions']} fixed positions ("
        f"{SELECTION}); a mistake is a move that changes the solved outcome (win to draw or "
        "loss, draw to loss). 95% Wilson intervals.\n\n"
        + common.markdown_table(mistakes)
        + "\n\n![Mistake rate against simulations](figures/mistakes_vs_simulations.png)",
    )


def mistake_verdict(mistakes: list[dict], trained_at: int) -> str:
    """Search pays when the rate at 16x the training budget (or the largest budget, if
    smaller) is at most half the rate at one simulation."""
    if not mistakes:
        return ""
    first = min(mistakes, key=lambda r: r["simulations"])
    far = [r for r in mistakes if r["simulations"] >= 16 * trained_at]
    deep = (
        min(far, key=lambda r: r["simulations"])
        if far
        else max(mistakes, key=lambda r: r["simulations"])
    )
    halved = deep["rate"] <= first["rate"] / 2
    return (
        f" Mistake rate {first['rate']:.1%} [{first['ci_low']:.1%}, {first['ci_high']:.1%}] at "
        f"{first['simulations']} simulation(s) and {deep['rate']:.1%} [{deep['ci_low']:.1%}, "
        f"{deep['ci_high']:.1%}] at {deep['simulations']}: "
        + ("at most half, so search pays." if halved else "not halved, so search does not pay yet.")
    )


def plot_mistakes(path: pathlib.Path, rows: list[dict], config, step: int) -> None:
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    x = [r["simulations"] for r in rows]
    rate = [100 * r["rate"] for r in rows]
    low = [100 * (r["rate"] - r["ci_low"]) for r in rows]
    high = [100 * (r["ci_high"] - r["rate"]) for r in rows]
    ax.errorbar(x, rate, yerr=[low, high], marker="o", capsize=3, label="MuZero (learned model)")
    ax.axvline(config.search.num_simulations, color="tab:orange", linewidth=0.8,
               label="training simulations")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("simulations per move at evaluation")
    ax.set_ylabel("mistakes against perfect play (%)")
    ax.set_title(f"{config.env.id}: mistake rate (iteration {step}, 95% Wilson intervals)")
    ax.legend()
    save_figure(fig, path)


def verdict(agent: list[dict], trained_at: int) -> str:
    """What the ratings show, judged with their 95% intervals (not point estimates)."""

    def above(a: dict, b: dict) -> bool:  # a clearly stronger than b
        return a["ci_low"] > b["ci_high"]

    first, last = agent[0], agent[-1]
    best = max(agent, key=lambda r: r["elo"])
    train = next((r for r in agent if r["simulations"] == trained_at), None)
    text = (
        f"Elo {first['elo']:.0f} [{first['ci_low']:.0f}, {first['ci_high']:.0f}] at "
        f"{first['simulations']} simulation(s), {last['elo']:.0f} [{last['ci_low']:.0f}, "
        f"{last['ci_high']:.0f}] at {last['simulations']}; the best budget is "
        f"{best['simulations']} ({best['elo']:.0f}). "
    )
    rising = above(last, first) or above(best, first)
    worse = [r for r in agent if r["simulations"] > trained_at and train and above(train, r)]
    gains = [r for r in agent if r["simulations"] > trained_at and train and above(r, train)]
    if rising and not worse:
        text += "More search made the agent clearly stronger, as in the paper"
        text += (
            f", including beyond its training budget ({trained_at}). "
            if gains
            else f", though no budget beyond training ({trained_at}) was clearly stronger. "
        )
        return text + "The published shape is reproduced in direction, at this small scale."
    text += "The published shape is not reproduced here: "
    if not rising:
        text += "no budget is clearly stronger than a single simulation (the intervals overlap)"
        drop = min(agent, key=lambda r: r["elo"])
        if train is not None and drop["simulations"] > trained_at and drop["elo"] < train["elo"]:
            text += (
                f"; the lowest rating is at {drop['simulations']} simulations "
                f"({drop['elo']:.0f}, against {train['elo']:.0f} at the training budget "
                f"{trained_at})"
            )
    if worse:
        budgets = ", ".join(str(r["simulations"]) for r in worse)
        text += ("; " if not rising else "") + (
            f"at {budgets} simulations the agent is clearly weaker than at its training "
            f"budget ({trained_at}), so searching much deeper than in training hurts this "
            "agent, whose learned model has not been trained to stay accurate that far"
        )
    return text + "."


def plot(path: pathlib.Path, rows: list[dict], config, step: int) -> None:
    from muzero.cli.elo import draw_fixed_players, draw_ratings, label_elo_axes

    agent = [r for r in rows if r["simulations"] is not None]
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    draw_ratings(ax, [r["simulations"] for r in agent], agent, "MuZero (learned model)")
    draw_fixed_players(ax, [r for r in rows if r["simulations"] is None])
    ax.axvline(config.search.num_simulations, color="tab:orange", linewidth=0.8,
               label="training simulations")  # fmt: skip
    ax.set_xscale("log", base=2)
    label_elo_axes(
        ax, "simulations per move at evaluation",
        f"{config.env.id}: search scaling (iteration {step})",
    )  # fmt: skip
    save_figure(fig, path)


if __name__ == "__main__":
    main()
