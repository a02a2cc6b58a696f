"""Go Text Protocol (GTP v2) engine for pgx's Go presets, for GUIs such as Sabaki or GoGui.

    python -m muzero.cli.gtp RUN_DIR [--num-simulations N]        # serve GTP on stdin/stdout
    python -m muzero.cli.gtp RUN_DIR --vs-gnugo --games 10 --level 1   # a match (muzero.cli.gnugo)

Coordinates: GTP names a point by column letter (A..T, skipping I) and row number counted from
the bottom ("D4"); pgx numbers points row-major from the top-left corner, with N*N for pass.

The game itself lives in pgx's simulator (the environment); the agent only ever sees the
observation of the colour to move and the legal-action mask. Rules are pgx's: area scoring
(Tromp-Taylor) with komi 7.5, suicide forbidden, a move that repeats an earlier position
(positional superko) loses, and a game ends at two passes or after 2 N^2 plies. This engine
answers such superko moves with `? illegal move` and keeps them out of the agent's mask.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import jax
import numpy as np

if TYPE_CHECKING:
    from muzero.agent import Agent

GTP_COLUMNS = "ABCDEFGHJKLMNOPQRSTUVWXYZ"  # GTP skips I
PGX_KOMI = 7.5  # pgx.make("go_NxN") scores with this komi; the agent was trained with it
COLOURS = {"b": "black", "black": "black", "w": "white", "white": "white"}


def vertex_to_action(vertex: str, size: int) -> int:
    """A GTP vertex ('D4', 'd4', 'pass') -> pgx Go action; ValueError names a bad vertex."""
    text = vertex.strip().upper()
    if text == "PASS":
        return size * size
    column = GTP_COLUMNS.find(text[:1]) if text else -1
    row = int(text[1:]) if text[1:].isdigit() else 0
    if not 0 <= column < size or not 1 <= row <= size:
        raise ValueError(f"{vertex!r} is not a point of a {size}x{size} board")
    return (size - row) * size + column


def action_to_vertex(action: int, size: int) -> str:
    """A pgx Go action -> its GTP vertex ('D4' or 'pass')."""
    if action == size * size:
        return "pass"
    if not 0 <= action < size * size:
        raise ValueError(f"action {action} is not a move on a {size}x{size} board")
    row, column = divmod(int(action), size)
    return f"{GTP_COLUMNS[column]}{size - row}"


def board_size(env_id: str) -> int | None:
    """The board size of a pgx Go id ('go_9x9' -> 9), None for any other game."""
    if not env_id.startswith("go_"):
        return None
    rows, _, columns = env_id[3:].partition("x")
    return int(rows) if rows.isdigit() and rows == columns else None


class GoGame:
    """A game of Go kept by pgx's simulator, with every position kept for `undo`."""

    def __init__(self, env_id: str):
        import pgx
        from pgx._src.games.go import _count_scores

        self.size = board_size(env_id)
        if self.size is None:
            raise ValueError(f"{env_id!r} is not a pgx Go game")
        env = pgx.make(env_id)
        self._init = jax.jit(env.init)
        self._step = jax.jit(env.step)
        # pgx's own area count (stones + territory per colour), the one its rewards use.
        self._areas = jax.jit(lambda x: _count_scores(x, self.size))
        self.clear()

    def clear(self) -> None:
        self.states = [self._init(jax.random.key(0))]

    @property
    def state(self):
        return self.states[-1]

    @property
    def to_move(self) -> str:
        """'black' or 'white': pgx's colour parity (black moves first), not its player ids."""
        return ("black", "white")[int(self.state._x.color)]

    @property
    def over(self) -> bool:
        return bool(self.state.terminated) or bool(self.state.truncated)

    @property
    def last_was_pass(self) -> bool:
        return int(self.state._x.consecutive_pass_count) > 0

    def board(self) -> np.ndarray:
        """[N, N] int8: +1 black, -1 white, 0 empty; row 0 is the top (GTP row N)."""
        return np.sign(np.asarray(self.state._x.board)).reshape(self.size, self.size)

    def legal_mask(self) -> np.ndarray:
        """[N*N + 1] bool: pgx's mask (occupied, suicide, simple ko) less superko repeats."""
        legal = np.asarray(self.state.legal_action_mask, bool).copy()
        if self.over:
            return np.zeros_like(legal)
        # pgx ends the game as a loss for a move that repeats an earlier position. Without a
        # capture so far the stones only grow in number and no position can repeat.
        if np.asarray(self.state._x.num_captured).sum() > 0:
            for action in np.flatnonzero(legal[:-1]):
                legal[action] = not bool(self._step(self.state, np.int32(action))._x.is_psk)
        return legal

    def play(self, action: int) -> bool:
        """Play `action` for the colour to move; False (nothing changes) if it is illegal."""
        if self.over or not np.asarray(self.state.legal_action_mask)[action]:
            return False
        state = self._step(self.state, np.int32(action))  # one dtype: one compile
        if action < self.size * self.size and bool(state._x.is_psk):
            return False
        self.states.append(state)
        return True

    def undo(self) -> bool:
        if len(self.states) == 1:
            return False
        self.states.pop()
        return True

    def score(self, komi: float = PGX_KOMI) -> float:
        """Black's area minus white's minus komi (Tromp-Taylor, pgx's count); > 0: black wins."""
        black, white = np.asarray(self._areas(self.state._x), float)
        return black - white - komi

    def winner(self, komi: float = PGX_KOMI) -> str:
        """'black' or 'white': pgx's terminal reward once the game is over, else the count."""
        if self.over:
            black_id = np.asarray(self.state._player_order)[0]
            return "black" if np.asarray(self.state.rewards)[black_id] > 0 else "white"
        return "black" if self.score(komi) > 0 else "white"


def format_score(score: float) -> str:
    """GTP's final_score text: 'B+3.5', 'W+0.5' or '0'."""
    if score == 0:
        return "0"
    return f"{'B' if score > 0 else 'W'}+{abs(score):g}"


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
        assert self.game.play(result.action), "the agent chose outside its legal mask"
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


def main(argv: list[str] | None = None) -> None:
    from muzero.cli.common import OneLineParser, check_range, fail
    from muzero.runtime.checkpointing import CheckpointError

    parser = OneLineParser(
        prog="python -m muzero.cli.gtp",
        description="Serve a trained Go run over GTP on stdin/stdout (Sabaki, GoGui), or play "
        "a match against GNU Go with --vs-gnugo. Rules and scoring are pgx's (area scoring, "
        "komi 7.5, positional superko).",
    )
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
    match = parser.add_argument_group("match against GNU Go (results in RUN_DIR/eval/)")
    match.add_argument("--vs-gnugo", action="store_true", help="play GNU Go instead of serving")
    match.add_argument("--games", type=int, default=10, help="games, colours alternating")
    match.add_argument("--level", type=int, default=1, help="GNU Go level, 0-10")
    match.add_argument("--gnugo", default="gnugo", help="GNU Go binary (default: on PATH)")
    match.add_argument(
        "--max-moves",
        type=int,
        default=0,
        help="stop and count after this many moves (default: pgx's 2 N^2 plies)",
    )
    args = parser.parse_args(argv)
    check_range(args, ("num_simulations", "max_moves"), 0)
    check_range(args, ("games",), 1)
    check_range(args, ("level",), 0, 10)
    if args.vs_gnugo:
        from muzero.cli.gnugo import find_gnugo

        find_gnugo(args.gnugo)  # a missing binary stops before anything loads
    try:
        agent = load_go_agent(args.run_dir, args.num_simulations, args.seed)
    except (CheckpointError, ValueError) as error:
        fail(str(error))
    engine = GtpEngine(agent, resign_below=args.resign_below)
    if args.vs_gnugo:
        from muzero.cli.gnugo import run_match
        from muzero.runtime.checkpointing import resolve

        run_dir = resolve(args.run_dir)[0]  # RUN_DIR may name one checkpoint of the run
        run_match(engine, run_dir, args.games, args.level, args.gnugo, args.max_moves)
    else:
        engine.serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
