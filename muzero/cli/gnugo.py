"""A match against GNU Go, both sides spoken to through GTP.

    python -m muzero.cli.gnugo RUN_DIR --games 10 --level 1

GNU Go runs as a subprocess (`gnugo --mode gtp --level L --boardsize N --komi 7.5
--chinese-rules --positional-superko --capture-all-dead`, so its rules and scoring match pgx's
as closely as GNU Go allows);
the MuZero side is a `muzero.cli.gtp.GtpEngine` driven in-process. Colours alternate between
games. A game ends at two passes, a resignation, pgx's 2 N^2-ply cap or `max_moves`, and is
scored by pgx (its terminal reward, Tromp-Taylor area scoring with komi 7.5; at a move cap
the same count on the board as it stands). GNU Go's own `final_score` is recorded beside it
for reference. Results go to `RUN_DIR/eval/gnugo-L<level>-<time>.json` and `.csv`. GNU Go
taking longer than `--timeout` seconds (default 60) for one answer is stopped, and the match
ends with a one-line error.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import queue
import shutil
import subprocess
import threading
import time
from typing import Any

from muzero.cli.common import fail, write_csv
from muzero.cli.gtp import GtpEngine, GtpError, agent_arguments, engine_from_args
from muzero.evaluation.go import PGX_KOMI, format_score
from muzero.evaluation.matches import summarize_outcomes

OTHER = {"black": "white", "white": "black"}
DEFAULT_TIMEOUT_S = 60.0  # seconds for one answer before the engine counts as hung (--timeout)


def find_gnugo(binary: str = "gnugo") -> str:
    """The GNU Go executable's path; a missing one exits with a one-line error."""
    path = shutil.which(binary) or shutil.which(binary, path="/usr/games")
    if path is None:
        fail(
            f"GNU Go ({binary}) not found: install it with `apt-get install gnugo` or pass --gnugo"
        )
    return path


class EngineError(RuntimeError):
    """The engine process stopped answering (it exited, or took longer than its timeout and
    was stopped): unlike a GtpError, the match cannot go on."""


class GtpProcess:
    """A GTP engine in a subprocess: `send` one command, get its answer or a GtpError. An
    answer not complete within `timeout_s` stops the engine and raises EngineError, so a hung
    engine cannot block a match forever."""

    def __init__(self, argv: list[str], timeout_s: float = DEFAULT_TIMEOUT_S):
        self.name = pathlib.Path(argv[0]).name
        self.timeout_s = timeout_s
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        # A thread reads the engine's output, so that each read can wait with a timeout.
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")  # end of output: the engine exited

    def _readline(self, command: str, deadline: float) -> str:
        try:
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            self.process.kill()
            self.process.wait()
            raise EngineError(
                f"{self.name} gave no answer to {command!r} within {self.timeout_s:g} s and was "
                "stopped (a longer wait: --timeout)"
            ) from None
        if not line:
            raise EngineError(f"{self.name} exited during {command!r}")
        return line

    def send(self, command: str) -> str:
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except OSError as error:  # a closed pipe: the engine is gone
            raise EngineError(f"{self.name} is not running ({error})") from error
        deadline = time.monotonic() + self.timeout_s
        lines = []
        while True:
            line = self._readline(command, deadline)
            if line.strip() or lines:  # a response ends at its first blank line
                if not line.strip():
                    break
                lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        if text.startswith("?"):
            raise GtpError(f"{command!r}: {text[1:].strip()}")
        return text[1:].strip()

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("quit")
            except (GtpError, EngineError):
                pass
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def gnugo_argv(binary: str, level: int, size: int) -> list[str]:
    return [
        find_gnugo(binary),
        "--mode",
        "gtp",
        "--level",
        str(level),
        "--boardsize",
        str(size),
        "--komi",
        f"{PGX_KOMI:g}",
        "--chinese-rules",  # area scoring, as pgx counts
        "--positional-superko",  # pgx ends a game lost for a repeated position
        # Tromp-Taylor counts every stone on the board as alive: GNU Go must capture dead
        # stones before it passes, or it passes "won" positions that pgx scores as lost.
        "--capture-all-dead",
    ]


def play_game(
    engine: GtpEngine, gnugo: GtpProcess, muzero_colour: str, max_moves: int = 0
) -> dict[str, Any]:
    """One game from an empty board; returns its record (moves, end, winner, scores)."""
    game = engine.game
    cap = max_moves or 2 * game.size**2
    for command in (f"boardsize {game.size}", "clear_board", f"komi {PGX_KOMI:g}"):
        engine.send(command)
        gnugo.send(command)
    moves: list[str] = []
    colour, end, loser = "black", "", None
    while not end:
        mover, other = (engine, gnugo) if colour == muzero_colour else (gnugo, engine)
        vertex = mover.send(f"genmove {colour}")
        if vertex.lower() == "resign":
            end, loser = "resignation", colour
            break
        try:
            other.send(f"play {colour} {vertex}")
        except GtpError:
            # The two rule sets should agree (both forbid suicide and repeated positions); if
            # not, pgx's verdict stands: an illegal move loses, a legal one ends in a count.
            end = f"{'pgx' if other is engine else 'GNU Go'} rejected {colour} {vertex}"
            loser = colour if other is engine else None
            break
        moves.append(vertex.lower())
        if game.over:
            end = "two passes" if moves[-2:] == ["pass", "pass"] else "pgx ply cap"
        elif len(moves) >= cap:
            end = "move cap"
        colour = OTHER[colour]
    winner = OTHER[loser] if loser else game.winner()
    try:
        reference = gnugo.send("final_score")
    except GtpError as error:
        reference = f"? {error}"
    return {
        "muzero_colour": muzero_colour,
        "winner": winner,
        "result": "win" if winner == muzero_colour else "loss",
        "end": end,
        "num_moves": len(moves),
        "pgx_score": format_score(game.score()),
        "gnugo_final_score": reference,
        "moves": " ".join(moves),
    }


def summarise(games: list[dict[str, Any]]) -> dict[str, Any]:
    """Results per MuZero colour and overall (`summarize_outcomes`: wins, losses, rates with
    95% Wilson intervals); komi 7.5 leaves no draws."""
    outcomes = {name: [] for name in ("black", "white", "all")}
    for g in games:
        for name in (g["muzero_colour"], "all"):
            outcomes[name].append(1 if g["result"] == "win" else -1)
    return {name: summarize_outcomes(o) for name, o in outcomes.items()}


def write_results(
    run_dir: pathlib.Path, level: int, record: dict[str, Any]
) -> tuple[pathlib.Path, pathlib.Path]:
    """`RUN_DIR/eval/gnugo-L<level>-<time>.json` (everything) and `.csv` (one row a game)."""
    folder = pathlib.Path(run_dir) / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = folder / f"gnugo-L{level}-{stamp}"
    json_path, csv_path = stem.with_suffix(".json"), stem.with_suffix(".csv")
    json_path.write_text(json.dumps(record, indent=2))
    write_csv(csv_path, [{"game": index, **game} for index, game in enumerate(record["games"])])
    return json_path, csv_path


def run_match(
    engine: GtpEngine,
    run_dir: str | pathlib.Path,
    games: int,
    level: int,
    binary: str = "gnugo",
    max_moves: int = 0,
    echo: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Play `games` games against GNU Go at `level`, MuZero black in even games; print a
    summary and write it to RUN_DIR/eval. Returns the record written to JSON. GNU Go taking
    over `timeout_s` for one answer (or exiting) raises EngineError."""
    gnugo = GtpProcess(gnugo_argv(binary, level, engine.game.size), timeout_s)
    played = []
    try:
        for index in range(games):
            played.append(play_game(engine, gnugo, ("black", "white")[index % 2], max_moves))
            if echo:
                g = played[-1]
                print(
                    f"game {index + 1}/{games}: MuZero {g['muzero_colour']} {g['result']} "
                    f"({g['end']}, {g['num_moves']} moves, pgx {g['pgx_score']}, "
                    f"GNU Go says {g['gnugo_final_score']})",
                    flush=True,
                )
    finally:
        gnugo.close()
    record = {
        "opponent": f"gnugo level {level}",
        "preset": engine.agent.config.preset,
        "num_simulations": engine.agent.config.eval_simulations,
        "komi": PGX_KOMI,
        "rules": "pgx: area scoring (Tromp-Taylor), positional superko, no suicide",
        "max_moves": max_moves or 2 * engine.game.size**2,
        "summary": summarise(played),
        "games": played,
    }
    json_path, csv_path = write_results(pathlib.Path(run_dir), level, record)
    if echo:
        for name, s in record["summary"].items():
            low, high = s["win_rate_ci95"]
            print(
                f"MuZero as {name}: {s['wins']} wins, {s['losses']} losses of {s['games']} "
                f"(win rate {s['win_rate']:.2f}, 95% CI [{low:.2f}, {high:.2f}])"
            )
        print(f"wrote {json_path} and {csv_path}")
    return record


def main(argv: list[str] | None = None) -> None:
    from muzero.cli.common import OneLineParser, check_range
    from muzero.runtime.checkpointing import resolve

    parser = OneLineParser(
        prog="python -m muzero.cli.gnugo",
        description="Play a trained Go run against GNU Go through GTP, colours alternating; "
        "games are scored by pgx (area scoring, komi 7.5). Results in RUN_DIR/eval/.",
    )
    agent_arguments(parser)
    parser.add_argument("--games", type=int, default=10, help="games, colours alternating")
    parser.add_argument("--level", type=int, default=1, help="GNU Go level, 0-10")
    parser.add_argument("--gnugo", default="gnugo", help="GNU Go binary (default: on PATH)")
    parser.add_argument(
        "--max-moves",
        type=int,
        default=0,
        help="stop and count after this many moves (default: pgx's 2 N^2 plies)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="seconds GNU Go may take to answer one command before it is stopped as hung",
    )
    args = parser.parse_args(argv)
    check_range(args, ("games",), 1)
    check_range(args, ("timeout",), 1)
    check_range(args, ("level",), 0, 10)
    check_range(args, ("max_moves",), 0)
    find_gnugo(args.gnugo)  # a missing binary stops before anything loads
    engine = engine_from_args(args)
    run_dir = resolve(args.run_dir)[0]  # RUN_DIR may name one checkpoint of the run
    try:
        run_match(engine, run_dir, args.games, args.level, args.gnugo, args.max_moves,
                  timeout_s=args.timeout)  # fmt: skip
    except EngineError as error:
        fail(str(error))


if __name__ == "__main__":
    main()
