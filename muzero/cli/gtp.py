"""Go Text Protocol (GTP v2) engine for pgx's Go presets, for GUIs such as Sabaki or GoGui.

    python -m muzero.cli.gtp RUN_DIR [--num-simulations N]        # serve GTP on stdin/stdout

Coordinates and the board are `muzero.evaluation.go`'s; a match against GNU Go is
`python -m muzero.cli.gnugo`.

The game itself lives in pgx's simulator (the environment); the agent only ever sees the
observation of the colour to move and the legal-action mask. Rules are pgx's: area scoring
(Tromp-Taylor) with komi 7.5, suicide forbidden, a move that repeats an earlier position
(positional superko) loses, and a game ends at two passes or after 2 N^2 plies. This engine
answers such superko moves with `? illegal move` and keeps them out of the agent's mask.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import numpy as np

from muzero.evaluation.go import (
    COLOURS,
    GTP_COLUMNS,
    PGX_KOMI,
    GoGame,
    action_to_vertex,
    board_size,
    format_score,
    vertex_to_action,
)

if TYPE_CHECKING:
    from muzero.agent import Agent


class GtpError(Exception):
    """A command that fails: answered '? message'."""


class GtpEngine:
    """Answers GTP v2 commands with a MuZero agent on a pgx Go board.

    `handle(line)` returns the full response ('= ...\\n\\n' or '? ...\\n\\n'), or None for
    blank and comment lines; after `quit`, `done` is True.
    """

    def __init__(self, agent: Agent, resign_below: float | None = None, log: TextIO = sys.stderr):
        self.agent = agent
        self.game = GoGame(agent.spec.name)
        self.komi = PGX_KOMI
        self.resign_below = resign_below
        self.log = log
        self.done = False
        self.commands: dict[str, Callable[[list[str]], str]] = {
            "protocol_version": lambda _: "2",
            "name": lambda _: "MuZero-JAX",
            "version": lambda _: f"{agent.config.preset}",
            "known_command": lambda a: str(bool(a) and a[0] in self.commands).lower(),
            "list_commands": lambda _: "\n".join(self.commands),
            "boardsize": self._boardsize,
            "clear_board": self._clear_board,
            "komi": self._komi,
            "play": self._play,
            "genmove": self._genmove,
            "undo": self._undo,
            "showboard": lambda _: "\n" + self.showboard(),
            "final_score": lambda _: format_score(self.game.score(self.komi)),
            "time_settings": lambda _: "",  # accepted and ignored: search has a fixed size
            "time_left": lambda _: "",
            "quit": self._quit,
        }

    def handle(self, line: str) -> str | None:
        """One command line -> its response text."""
        text = "".join(c for c in line.replace("\t", " ") if c >= " " or c == "\n")
        words = text.split("#", 1)[0].split()
        if not words:
            return None
        ident = words.pop(0) if words[0].isdigit() else ""
        if not words:
            return f"?{ident} missing command\n\n"
        name, args = words[0].lower(), words[1:]
        if name not in self.commands:
            return f"?{ident} unknown command\n\n"
        try:
            return f"={ident} {self.commands[name](args)}\n\n"
        except GtpError as error:
            return f"?{ident} {error}\n\n"

    def send(self, command: str) -> str:
        """One command -> its answer text, as `muzero.cli.gnugo.GtpProcess.send`; '?' raises."""
        response = self.handle(command) or "= "
        if response.startswith("?"):
            raise GtpError(f"{command!r}: {response[1:].strip()}")
        return response[1:].strip()

    def serve(self, stdin: TextIO, stdout: TextIO) -> None:
        """Answer commands from `stdin` until `quit` or end of input."""
        for line in stdin:
            response = self.handle(line)
            if response is not None:
                stdout.write(response)
                stdout.flush()
            if self.done:
                break

    def showboard(self) -> str:
        """The board as text, black X, white O, GTP coordinates around it."""
        size = self.game.size
        letters = "   " + " ".join(GTP_COLUMNS[:size])
        rows = [letters]
        for r, row in enumerate(self.game.board()):
            cells = " ".join(".XO"[v] for v in row)
            rows.append(f"{size - r:2d} {cells} {size - r}")
        rows.append(letters)
        rows.append(f"{self.game.to_move} to move, komi {self.komi:g}")
        return "\n".join(rows)

    def _colour(self, args: list[str]) -> str:
        if not args or args[0].lower() not in COLOURS:
            raise GtpError("invalid color")
        return COLOURS[args[0].lower()]

    def _turn(self, colour: str) -> None:
        """Let `colour` move: when the other colour is to move it passes, unless that pass
        would end the game (GTP lets a controller play one colour twice; pgx alternates)."""
        if colour == self.game.to_move:
            return
        if self.game.over or self.game.last_was_pass:
            raise GtpError(f"{colour} cannot move now: {self.game.to_move} is to move")
        self.game.play(self.game.size**2)

    def _boardsize(self, args: list[str]) -> str:
        if not args or not args[0].isdigit():
            raise GtpError("boardsize not an integer")
        if int(args[0]) != self.game.size:
            raise GtpError("unacceptable size")
        return self._clear_board(args)

    def _clear_board(self, _: list[str]) -> str:
        self.game.clear()
        self.agent.reset()
        return ""

    def _komi(self, args: list[str]) -> str:
        try:
            self.komi = float(args[0])
        except (IndexError, ValueError):
            raise GtpError("komi not a float") from None
        if self.komi != PGX_KOMI:
            print(
                f"muzero.cli.gtp: komi {self.komi:g} noted for final_score; the agent was trained "
                f"with pgx's komi {PGX_KOMI:g} and plays as if it were that",
                file=self.log,
            )
        return ""

    def _play(self, args: list[str]) -> str:
        colour = self._colour(args)
        try:
            action = vertex_to_action(args[1], self.game.size)
        except (IndexError, ValueError):
            raise GtpError("invalid coordinate") from None
        before = len(self.game.states)
        self._turn(colour)
        if not self.game.play(action):
            del self.game.states[before:]  # drop the pass `_turn` may have inserted
            raise GtpError("illegal move")
        return ""

    def _genmove(self, args: list[str]) -> str:
        colour = self._colour(args)
        if self.game.over:
            return "pass"
        self._turn(colour)
        state = self.game.state
        result = self.agent.search(np.asarray(state.observation), self.game.legal_mask())
        if self.resign_below is not None and result.value < self.resign_below:
            return "resign"
        # Not an assert: the move must be played under `python -O` too.
        if not self.game.play(result.action):
            raise GtpError("the agent chose a move outside its legal mask")
        return action_to_vertex(result.action, self.game.size)

    def _undo(self, _: list[str]) -> str:
        if not self.game.undo():
            raise GtpError("cannot undo")
        return ""

    def _quit(self, _: list[str]) -> str:
        self.done = True
        return ""


def load_go_agent(run_dir: str, num_simulations: int = 0, seed: int = 0) -> Agent:
    """The agent of a Go run, with `num_simulations` per move (0: the run's own setting).

    Raises CheckpointError for a bad run directory and ValueError for a run GTP cannot serve.
    """
    import dataclasses
    import pathlib

    from muzero.agent import Agent
    from muzero.runtime import checkpointing
    from muzero.runtime.runs import load_run_config

    resolved, _ = checkpointing.resolve(pathlib.Path(run_dir))
    config = load_run_config(resolved)
    if board_size(config.env.id) is None:
        raise ValueError(f"{run_dir} is a {config.env.id} run; GTP serves pgx Go runs (go_NxN)")
    if config.history.frames != 1 or config.history.action_planes:
        # The engine sees the opponent's moves only as new observations; pgx's Go planes
        # already hold the last 8 positions, so Go presets need no frame history.
        raise ValueError(f"{run_dir} stacks frames or action planes; GTP needs history.frames 1")
    agent = Agent.load(resolved, seed=seed)
    if num_simulations:
        evaluation = dataclasses.replace(agent.config.eval, num_simulations=num_simulations)
        agent = Agent(agent.config.replace(eval=evaluation), agent.spec, agent.params, seed)
    return agent


def agent_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose the Go agent: run directory, simulations, seed, resignation."""
    parser.add_argument("run_dir", help="a go_NxN run directory (its latest checkpoint)")
    parser.add_argument(
        "--num-simulations",
        type=int,
        default=0,
        help="search simulations per move (default: "
        "the run's eval.num_simulations, else search.num_simulations)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the agent's search")
    parser.add_argument(
        "--resign-below",
        type=float,
        default=None,
        help="resign when the root value (-1..1) falls below this (default: never resign)",
    )


def engine_from_args(args: argparse.Namespace) -> GtpEngine:
    """The engine of the agent `agent_arguments` chose; bad input exits with one line."""
    from muzero.cli.common import check_range, fail
    from muzero.runtime.checkpointing import CheckpointError

    check_range(args, ("num_simulations",), 0)
    try:
        agent = load_go_agent(args.run_dir, args.num_simulations, args.seed)
    except (CheckpointError, ValueError) as error:
        fail(str(error))
    return GtpEngine(agent, resign_below=args.resign_below)


def main(argv: list[str] | None = None) -> None:
    from muzero.cli.common import OneLineParser

    parser = OneLineParser(
        prog="python -m muzero.cli.gtp",
        description="Serve a trained Go run over GTP on stdin/stdout (Sabaki, GoGui). Rules and "
        "scoring are pgx's (area scoring, komi 7.5, positional superko). For a match against "
        "GNU Go: python -m muzero.cli.gnugo.",
    )
    agent_arguments(parser)
    engine_from_args(parser.parse_args(argv)).serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
