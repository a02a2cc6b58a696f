"""Play a trained agent at a board game in the terminal: `python -m muzero.cli.play [PRESET]`.

`make play ENV=connect_four` runs this. The board is drawn with rich; you type moves (a
cell, a column or a Go point); after each of its moves the agent shows its search policy
and the root value. The game itself is kept by pgx: the agent only ever sees the
observation of the player to move and the legal mask, as in training.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import pathlib
import sys
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from muzero.cli.boards import BoardView, board_view, has_board
from muzero.cli.common import OneLineParser, check_range, fail

QUIT_WORDS = ("q", "quit", "exit")
Seat = Literal["first", "second"]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a game ended, from the human's side."""

    result: Literal["win", "loss", "draw", "quit"]
    human_reward: float  # pgx's final reward for the human (0 when quit)
    moves: tuple[int, ...]  # every action played, both sides, in order


@functools.cache
def _rules(env_id: str) -> tuple[Callable, Callable]:
    """Jitted pgx init and step, compiled once per game per process."""
    import jax
    import pgx

    game = pgx.make(env_id)
    return jax.jit(game.init), jax.jit(game.step)


def read_human_move(
    view: BoardView,
    state: Any,
    read_move: Callable[[], str],
    console: Console,
    piece: str,
) -> int | None:
    """Prompt until the human types a legal move; None when they quit (q, EOF, Ctrl-C)."""
    legal = np.asarray(state.legal_action_mask)
    while True:
        console.print(
            f"Your move ({piece}) - {view.expected}, ? for help, q to quit: ",
            end="",
            markup=False,
            highlight=False,
        )
        try:
            text = read_move().strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return None
        if text.lower() in QUIT_WORDS:
            return None
        if text == "?":
            moves = ", ".join(view.name_move(int(a)) for a in np.flatnonzero(legal))
            console.print(f"Legal moves: {moves}", markup=False, highlight=False)
            continue
        if not text:
            message = f"Please type a move: {view.expected}."
        else:
            try:
                action = view.parse(text)
            except ValueError as error:
                message = str(error)
            else:
                if legal[action]:
                    return action
                message = view.why_illegal(state, action)
        # The human's own text goes into the message, so no markup.
        console.print(message, style="bold red", markup=False, highlight=False)


def search_table(view: BoardView, result: Any, top: int = 5) -> Table:
    """The agent's most probable moves under its search policy, with visits and a bar."""
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="dim")
    for name in ("move", "policy", "visits", ""):
        table.add_column(name, justify="left" if name in ("move", "") else "right")
    order = [int(a) for a in np.argsort(-result.policy, kind="stable")[:top]]
    order = [a for a in order if result.policy[a] >= 0.005]
    # The move played is the most visited one, which under Gumbel search need not be the
    # most probable under the improved policy: always list it, and mark it.
    if result.action not in order:
        order.append(result.action)
    for action in order:
        p = float(result.policy[action])
        played = action == result.action
        table.add_row(
            Text(view.name_move(action) + (" ◀" if played else ""), style="bold" if played else ""),
            f"{p:.0%}",
            str(int(result.visit_counts[action])),
            Text("█" * round(20 * p) or "▏", style="green"),
        )
    return table


def _announce(console: Console, reward: float, result: str) -> None:
    text = {"win": "You win!", "loss": "The agent wins.", "draw": "Draw."}[result]
    style = {"win": "bold green", "loss": "bold red", "draw": "bold"}[result]
    console.print(Text(f"{text} (your reward {reward:+g})", style=style))


def play_game(
    agent: Any,
    env_id: str,
    human_seat: Seat = "first",
    read_move: Callable[[], str] = input,
    console: Console | None = None,
    seed: int = 0,
) -> Outcome:
    """Play one game of pgx `env_id`, the human against `agent`; returns the outcome.

    `agent` needs `reset()` and `search(observation, legal_mask) -> SearchResult`;
    `read_move()` returns one line the human typed (EOFError ends the game).
    """
    import jax

    console = console or Console()
    view = board_view(env_id)
    init, step = _rules(env_id)
    state = init(jax.random.key(seed))
    # pgx picks which player id moves first at random; seats are about move order.
    first_id = int(state.current_player)
    human_id = first_id if human_seat == "first" else 1 - first_id
    human_piece, agent_piece = view.pieces if human_seat == "first" else view.pieces[::-1]
    console.print(f"You play {human_piece} ({human_seat}); the agent plays {agent_piece}.")
    agent.reset()
    moves: list[int] = []
    while not (bool(state.terminated) or bool(state.truncated)):
        console.print(view.draw(state, moves[-1] if moves else None))
        if int(state.current_player) == human_id:
            action = read_human_move(view, state, read_move, console, human_piece)
            if action is None:
                console.print("Game abandoned.")
                return Outcome("quit", 0.0, tuple(moves))
        else:
            # `search` rather than `act`: the policy and value are shown, and board presets
            # keep no frame history (history.frames = 1; pgx's Go planes carry their own),
            # so nothing is lost by not advancing the agent's history.
            result = agent.search(state.observation, state.legal_action_mask)
            action = result.action
            console.print(
                Text.assemble(
                    ("Agent plays ", "bold"),
                    (view.name_move(action), "bold magenta"),
                    # The root value is for the player to move, the agent: say so.
                    f"   value {round(result.value, 2) + 0.0:+.2f} for the agent (+1 win, -1 loss)",
                )
            )
            console.print(search_table(view, result))
        state = step(state, action)
        moves.append(action)
    console.print(view.draw(state, moves[-1]))
    reward = float(state.rewards[human_id])
    result = "win" if reward > 0 else "loss" if reward < 0 else "draw"
    _announce(console, reward, result)
    return Outcome(result, reward, tuple(moves))


# --- command line


def board_presets() -> list[str]:
    from configs import PRESETS

    return sorted(name for name, make in PRESETS.items() if has_board(make().env.id))


def newest_run(runs_dir: pathlib.Path, preset: str) -> pathlib.Path | None:
    """The newest run of `preset` under runs_dir that has a checkpoint (timestamped names
    sort by time), or None."""
    folder = pathlib.Path(runs_dir) / preset
    if not folder.is_dir():
        return None
    for run in sorted(folder.iterdir(), reverse=True):
        checkpoints = run / "checkpoints"
        # Orbax writes into a temporary folder and renames it to the bare step when done.
        if checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir()):
            return run
    return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineParser(
        prog="python -m muzero.cli.play",
        description="Play a trained MuZero agent at a board game in the terminal.",
    )
    parser.add_argument(
        "preset",
        nargs="?",
        help="board preset to play (tictactoe, connect_four, go_9x9, ...); default: the "
        "preset of --run, else tictactoe",
    )
    parser.add_argument(
        "--run",
        metavar="RUN_DIR",
        help="run directory (its latest checkpoint) or one checkpoint folder; default: the "
        "newest run under runs/PRESET/ that has a checkpoint",
    )
    parser.add_argument(
        "--seat",
        choices=("first", "second"),
        default="first",
        help="move first (X, red, black) or second; default first",
    )
    parser.add_argument(
        "--num-simulations",
        type=int,
        metavar="N",
        help="search simulations per agent move; default: the run's evaluation setting",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the game and of the agent's search; default 0"
    )
    return parser.parse_args(argv)


def load_agent(args: argparse.Namespace) -> tuple[Any, str, pathlib.Path, int]:
    """Check the command line and load the agent; bad input exits with one line.

    Returns (agent, preset, run dir, checkpoint step)."""
    from configs import PRESETS, get_preset

    preset = args.preset
    if preset is not None and preset not in PRESETS:
        fail(f"unknown preset {preset!r}; board presets: {', '.join(board_presets())}")
    if preset is not None and not has_board(get_preset(preset).env.id):
        fail(f"{preset} is not a board game; play one of: {', '.join(board_presets())}")
    check_range(args, ("num_simulations",), 1)
    run = args.run
    if run is None:
        preset = preset or "tictactoe"
        runs_dir = pathlib.Path(get_preset(preset).run.runs_dir)
        run = newest_run(runs_dir, preset)
        if run is None:
            fail(
                f"no {preset} run with a checkpoint under {runs_dir / preset}; "
                f"train one first: make train ENV={preset}"
            )
    # Loaded only now, so that command-line mistakes are answered before JAX starts.
    from muzero.agent import Agent
    from muzero.runtime import checkpointing
    from muzero.runtime.runs import load_run_config

    try:
        run_dir, step = checkpointing.resolve(pathlib.Path(run))
        config = load_run_config(run_dir)
    except checkpointing.CheckpointError as error:
        fail(str(error))
    if preset is not None and config.preset != preset:
        fail(f"--run {run} is a {config.preset!r} run, not {preset!r}")
    if not has_board(config.env.id):
        fail(f"--run {run} plays {config.env.id}, not a board game")
    try:
        agent = Agent.load(run, seed=args.seed)
    except checkpointing.CheckpointError as error:
        fail(str(error))
    if args.num_simulations is not None:
        eval_config = dataclasses.replace(agent.config.eval, num_simulations=args.num_simulations)
        config = agent.config.replace(eval=eval_config)
        agent = Agent(config, agent.spec, agent.params, seed=args.seed)
    return agent, config.preset, run_dir, step


def main(argv: list[str] | None = None) -> None:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    agent, preset, run_dir, step = load_agent(args)
    console = Console()
    shown = (
        run_dir.relative_to(pathlib.Path.cwd())
        if run_dir.is_relative_to(pathlib.Path.cwd())
        else run_dir
    )
    console.print(
        f"[bold]{preset}[/] against {shown} (checkpoint {step}, "
        f"{agent.config.eval_simulations} simulations per move)",
        highlight=False,
    )
    seed = args.seed
    try:
        while True:
            outcome = play_game(agent, agent.config.env.id, args.seat, input, console, seed)
            if outcome.result == "quit":
                return
            console.print("Another game? [y/N] ", end="", markup=False, highlight=False)
            if input().strip().lower() not in ("y", "yes"):
                return
            seed += 1
    except (EOFError, KeyboardInterrupt):
        console.print()


if __name__ == "__main__":
    main()
