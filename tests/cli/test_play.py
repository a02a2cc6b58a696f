"""Playing against the agent in the terminal: the play loop driven by scripted input."""

import io
import json
import re
import subprocess
import sys

import jax
import numpy as np
import pytest
from rich.console import Console

from muzero.agent import SearchResult
from muzero.cli.boards import board_view, star_points
from muzero.cli.play import main, play_game


def scripted(*lines):
    """`read_move` replaying typed lines, then EOF (as when stdin ends)."""
    it = iter(lines)

    def read():
        try:
            return next(it)
        except StopIteration:
            raise EOFError from None

    read.left = lambda: sum(1 for _ in it)
    return read


def console():
    return Console(file=io.StringIO(), width=100, color_system=None)


def text_of(c):
    return c.file.getvalue()


class ScriptedAgent:
    """Plays `moves` in order, then the lowest legal action; a uniform policy over legal moves.

    Deterministic and compile-free, so tests choose the positions the human meets."""

    def __init__(self, moves=()):
        self.moves = list(moves)
        self.resets = 0

    def reset(self):
        self.resets += 1

    def search(self, observation, legal_mask):
        legal = np.asarray(legal_mask)
        action = self.moves.pop(0) if self.moves else int(np.flatnonzero(legal)[0])
        assert legal[action]
        policy = legal / legal.sum()
        return SearchResult(action, policy, legal.astype(np.int32), value=0.25)


@pytest.fixture(scope="module")
def tictactoe_agent():
    """A real agent with random parameters (its search compiles once for the module)."""
    import envs
    import muzero
    from configs import get_preset
    from muzero.model.networks import make_model
    from muzero.replay.history import network_spec

    config = get_preset("tictactoe")
    spec = envs.spec(config.env)
    params = make_model(config.network, network_spec(spec, config)).init(jax.random.key(0))
    return muzero.Agent(config, spec, params)


def test_bad_input_is_answered_and_reprompted_and_the_real_agent_shows_its_search(
    tictactoe_agent,
):
    c = console()
    # Empty, garbage, out of range, then 5; then 5 again (now taken), then every cell in
    # turn: taken ones are refused, so the game always reaches its end.
    read = scripted("", "abc", "0", "10", "5", "5", *"123456789")
    outcome = play_game(tictactoe_agent, "tic_tac_toe", "first", read, c, seed=0)
    out = text_of(c)

    assert "Please type a move: a cell number 1-9." in out
    assert "'abc' is not a cell: type a cell number 1-9" in out
    assert "'0' is not a cell" in out and "'10' is not a cell" in out
    assert "cell 5 is taken; pick an empty cell" in out
    # Every line read was asked for by a prompt: a refusal is followed by a fresh prompt.
    typed = 6 + 9 - read.left()
    assert out.count("Your move (X)") == typed
    assert outcome.result in ("win", "loss", "draw")
    assert outcome.moves[0] == 4  # the human's first legal input
    assert len(set(outcome.moves)) == len(outcome.moves)  # nobody played on a taken cell
    announced = {"win": "You win!", "loss": "The agent wins.", "draw": "Draw."}
    assert out.rstrip().splitlines()[-1].startswith(announced[outcome.result])

    # After each agent move: its move, its root value for its own side, the policy table.
    agent_moves = outcome.moves[1::2]
    plays = re.findall(
        r"Agent plays (\d)   value ([+-]\d\.\d\d) for the agent \(\+1 win, -1 loss\)", out
    )
    assert [int(cell) - 1 for cell, _ in plays] == list(agent_moves)
    assert out.count("policy") == len(agent_moves) and "visits" in out
    assert re.search(r"^\d ◀\s+\d+%\s+\d+", out, re.MULTILINE)  # the played move, marked


@pytest.mark.parametrize("seed", [0, 1, 2, 3])  # pgx draws which player id moves first
def test_seats_and_results_hand_computed(seed):
    # Human first: X takes 4, 5, 6 while the agent (lowest legal cell) takes 1, 2.
    c = console()
    outcome = play_game(ScriptedAgent(), "tic_tac_toe", "first", scripted("4", "5", "6"), c, seed)
    assert outcome.moves == (3, 0, 4, 1, 5)
    assert (outcome.result, outcome.human_reward) == ("win", 1.0)
    assert "You play X (first); the agent plays O." in text_of(c)
    assert "You win! (your reward +1)" in text_of(c)

    # Human second: the agent moves first and takes 1, 2, 3 while O takes 9, 8.
    c = console()
    outcome = play_game(ScriptedAgent(), "tic_tac_toe", "second", scripted("9", "8"), c, seed)
    assert outcome.moves == (0, 8, 1, 7, 2)
    assert (outcome.result, outcome.human_reward) == ("loss", -1.0)
    out = text_of(c)
    assert out.index("Agent plays 1") < out.index("Your move (O)")
    assert "The agent wins. (your reward -1)" in out
    assert "value +0.25 for the agent" in out


def test_quit_and_eof_end_the_game_cleanly():
    agent = ScriptedAgent()
    for read in (scripted("q"), scripted("5", "quit"), scripted()):
        c = console()
        outcome = play_game(agent, "tic_tac_toe", "first", read, c)
        assert outcome.result == "quit" and outcome.human_reward == 0.0
        assert text_of(c).rstrip().endswith("Game abandoned.")
    assert agent.resets == 3  # every game starts the agent afresh


def test_connect_four_full_column_is_refused():
    c = console()
    # Human and agent (lowest legal column) both drop into column 1 until it is full:
    # alternating colours, so nobody wins there.
    read = scripted("1", "1", "1", "1", "8", "x", "?", "2", "q")
    outcome = play_game(ScriptedAgent(), "connect_four", "first", read, c)
    out = text_of(c)
    assert "column 1 is full; pick another column" in out
    assert "'8' is not a column: type a column 1-7" in out
    assert "'x' is not a column" in out
    assert "Legal moves: 2, 3, 4, 5, 6, 7" in out
    assert outcome.moves == (0, 0, 0, 0, 0, 0, 1, 1)
    assert outcome.result == "quit"
    # The drawn board: column 1 holds alternating discs, red (first mover) at the bottom.
    board = [line for line in out.splitlines() if re.fullmatch(r" [·●○]( [·●○]){6}", line)]
    last = board[-6:]
    assert [row.split()[0] for row in last] == ["○", "●", "○", "●", "○", "●"]
    assert last[-1].split()[1] == "●" and last[-2].split()[1] == "○"


def test_go_vertices_pass_and_the_end_by_two_passes():
    c = console()
    # The agent (black) plays A9 then passes; the human (white) plays D4 then passes.
    agent = ScriptedAgent([0, 81])
    read = scripted("D4", "d4", "Z9", "", "pass")
    outcome = play_game(agent, "go_9x9", "second", read, c)
    out = text_of(c)
    assert outcome.moves == (0, 48, 81, 81)
    assert "D4 is occupied; pick an empty point" in out
    assert "'Z9' is not a point of a 9x9 board: type a point like D4, or pass" in out
    assert "Please type a move: a point like D4, or pass." in out
    assert "Agent plays A9" in out and "Agent plays pass" in out
    assert "black passed" in out
    # Tromp-Taylor area: one stone each, the rest neutral; komi 7.5 gives white the game.
    assert (outcome.result, outcome.human_reward) == ("win", 1.0)
    assert " 9 ● · · · · · · · ·  9" in out and " 4 · · · ○ · · · · ·  4" in out


@pytest.mark.parametrize("env_id", ["tic_tac_toe", "connect_four", "go_9x9", "go_19x19"])
def test_every_move_name_parses_back(env_id):
    view = board_view(env_id)
    num_actions = {"tic_tac_toe": 9, "connect_four": 7, "go_9x9": 82, "go_19x19": 362}[env_id]
    for action in range(num_actions):
        assert view.parse(view.name_move(action)) == action
    with pytest.raises(ValueError, match=re.escape(view.expected)):
        view.parse("nonsense")


def test_star_points():
    assert len(star_points(9)) == 5 and 40 in star_points(9)  # E5, the centre
    assert len(star_points(13)) == 5
    assert len(star_points(19)) == 9
    with pytest.raises(ValueError, match="board view"):
        board_view("chess")


# --- the command line


def test_cli_refuses_a_game_without_a_board(tmp_path):
    """The real entry point, as `make play ENV=cartpole` runs it: one line on stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "muzero.cli.play", "cartpole"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: cartpole is not a board game; play one of: ")
    assert "tictactoe" in lines[0] and "connect_four" in lines[0]


def one_line_error(capsys, argv):
    """Run `muzero.cli.play.main(argv)` in-process (no second JAX start-up); its error line."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_cli_refuses_bad_input_with_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(capsys, ["tictactoe"])
    assert "no tictactoe run with a checkpoint" in line and "make train ENV=tictactoe" in line
    # A run whose first checkpoint is still being written does not count.
    (tmp_path / "runs" / "tictactoe" / "20260101-000000" / "checkpoints" / "1.tmp").mkdir(
        parents=True
    )
    assert "no tictactoe run with a checkpoint" in one_line_error(capsys, [])
    assert "no_such_game" in one_line_error(capsys, ["no_such_game"])
    assert "does not exist" in one_line_error(capsys, ["--run", "nowhere"])
    assert "--seat" in one_line_error(capsys, ["--seat", "third"])
    assert "--num-simulations" in one_line_error(capsys, ["--num-simulations", "0"])


def test_cli_plays_the_newest_run_with_a_checkpoint(tmp_path, monkeypatch, capsys, tictactoe_agent):
    """A run as training leaves it (config.json, checkpoints/<step>/): the CLI finds the
    newest one, loads it, draws the board, and ends cleanly when the human quits."""
    from muzero.config import to_dict
    from muzero.runtime import checkpointing

    runs = tmp_path / "runs" / "tictactoe"
    (runs / "20260101-000000" / "checkpoints").mkdir(parents=True)  # older, and empty
    run_dir = runs / "20260102-000000"
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(to_dict(tictactoe_agent.config)))
    with checkpointing.make_manager(run_dir, max_to_keep=1) as manager:
        checkpointing.save(manager, 7, {"step": np.zeros(())}, tictactoe_agent.params)
        manager.wait_until_finished()
    (runs / "20260103-000000").mkdir()  # newer, but no checkpoint yet
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("builtins.input", scripted("x", "q"))
    main(["tictactoe", "--num-simulations", "4"])
    out = capsys.readouterr().out
    assert "against runs/tictactoe/20260102-000000 (checkpoint 7, 4 simulations" in out
    assert " 1 │ 2 │ 3" in out
    assert "'x' is not a cell" in out
    assert out.rstrip().endswith("Game abandoned.")
