"""The GTP engine (muzero.cli.gtp) answers GTP v2 as GUIs and GNU Go expect, on pgx's Go rules.

The agent has random parameters saved as a run directory: these tests check the protocol and
the board bookkeeping, not playing strength.
"""

import dataclasses
import io
import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from muzero.cli.gtp import GtpEngine, load_go_agent, main
from muzero.evaluation.go import action_to_vertex, format_score, vertex_to_action


@pytest.fixture(scope="module")
def go_run(tmp_path_factory):
    """A go_9x9 run directory holding a tiny random network's parameters as checkpoint 1."""
    import jax
    import orbax.checkpoint as ocp

    import envs
    from configs import get_preset
    from muzero.config import to_dict
    from muzero.model.networks import make_model
    from muzero.replay.history import network_spec
    from muzero.runtime import checkpointing

    config = get_preset("go_9x9")
    config = config.replace(
        network=dataclasses.replace(config.network, hidden_size=32, num_layers=1, latent_size=16),
        search=dataclasses.replace(config.search, num_simulations=4, max_num_considered_actions=4),
    )
    model = make_model(config.network, network_spec(envs.spec(config.env), config))
    params = jax.jit(model.init)(jax.random.key(0))  # one compile, not one per layer op
    run_dir = tmp_path_factory.mktemp("go_run")
    (run_dir / "config.json").write_text(json.dumps(to_dict(config)))
    with checkpointing.make_manager(run_dir, max_to_keep=1) as manager:
        manager.save(1, args=ocp.args.Composite(params=ocp.args.StandardSave(params)))
    return run_dir


STDIN_COMMANDS = "boardsize 9\nclear_board\nplay b D4\n4 genmove w\nshowboard\n9 quit\n"


@pytest.fixture(scope="module")
def served(go_run):
    """`python -O -m muzero.cli.gtp RUN_DIR` given STDIN_COMMANDS, started before the
    in-process engine so that its work (imports, loading, compiling) overlaps the other tests.
    Under -O, asserts are stripped: nothing the engine must do may hide in one.
    Returns the process and the file its stderr goes to."""
    stderr = open(go_run / "gtp_stderr.txt", "w")  # a file: a full pipe would block it
    process = subprocess.Popen(
        [sys.executable, "-O", "-m", "muzero.cli.gtp", str(go_run), "--num-simulations", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    process.stdin.write(STDIN_COMMANDS)
    process.stdin.close()
    yield process, go_run / "gtp_stderr.txt"
    if process.poll() is None:
        process.kill()
    process.wait()
    process.stdout.close()
    stderr.close()


@pytest.fixture(scope="module")
def engine(go_run, served):
    return GtpEngine(load_go_agent(str(go_run)), log=io.StringIO())


def ask(engine, line):
    """The engine's response to one line, checked for GTP's framing; returns (ok, text)."""
    response = engine.handle(line)
    assert response.endswith("\n\n") and response[0] in "=?", response
    return response[0] == "=", response[1:].strip()


def stone(engine, vertex):
    """+1 black, -1 white, 0 empty at a GTP vertex, read from pgx's board."""
    row, column = divmod(vertex_to_action(vertex, 9), 9)
    return int(engine.game.board()[row, column])


def test_vertices_follow_gtp():
    assert vertex_to_action("A9", 9) == 0  # GTP row 9 is pgx's top row
    assert vertex_to_action("j1", 9) == 80
    assert vertex_to_action("H1", 9) == 79  # no column I
    assert vertex_to_action("PASS", 9) == 81
    assert [action_to_vertex(a, 9) for a in (0, 8, 72, 81)] == ["A9", "J9", "A1", "pass"]
    assert all(vertex_to_action(action_to_vertex(a, 9), 9) == a for a in range(82))
    for bad in ("I5", "A10", "Z1", "", "D0"):
        with pytest.raises(ValueError):
            vertex_to_action(bad, 9)
    assert [format_score(s) for s in (3.5, -0.5, 0.0)] == ["B+3.5", "W+0.5", "0"]


def test_framing_ids_comments_and_unknown_commands(engine):
    assert engine.handle("12 protocol_version") == "=12 2\n\n"
    assert engine.handle("name # a comment") == "= MuZero-JAX\n\n"
    assert engine.handle("") is None and engine.handle("   # only a comment") is None
    assert engine.handle("7 no_such_command") == "?7 unknown command\n\n"
    assert engine.handle("known_command genmove") == "= true\n\n"
    assert engine.handle("known_command frobnicate") == "= false\n\n"
    listed = ask(engine, "list_commands")[1].split("\n")
    required = ["boardsize", "clear_board", "komi", "play", "genmove", "showboard", "quit"]
    assert set(required) <= set(listed)


def test_boardsize_accepts_only_the_trained_size(engine):
    assert engine.handle("boardsize 9") == "= \n\n"
    assert engine.handle("boardsize 19") == "? unacceptable size\n\n"
    assert ask(engine, "boardsize nine") == (False, "boardsize not an integer")


def test_play_places_stones_and_clear_board_empties(engine):
    ask(engine, "clear_board")
    assert ask(engine, "play b D4") == (True, "")
    assert ask(engine, "play WHITE e5") == (True, "")
    assert stone(engine, "D4") == 1 and stone(engine, "E5") == -1
    assert int(np.abs(engine.game.board()).sum()) == 2
    board = ask(engine, "showboard")[1].split("\n")
    assert board[0].split() == list("ABCDEFGHJ")
    assert board[6].split() == ["4", ".", ".", ".", "X", ".", ".", ".", ".", ".", "4"]
    assert board[5].split()[5] == "O"  # E5
    assert ask(engine, "play b D4") == (False, "illegal move")  # occupied
    assert ask(engine, "play b E5") == (False, "illegal move")
    assert ask(engine, "play b K4") == (False, "invalid coordinate")
    assert ask(engine, "play red D5") == (False, "invalid color")
    assert engine.game.to_move == "black"  # failed commands change nothing
    ask(engine, "clear_board")
    assert not engine.game.board().any() and engine.game.to_move == "black"


def test_capture_and_ko_follow_pgx(engine):
    ask(engine, "clear_board")
    for move in ["b D5", "w F4", "b E4", "w F6", "b E6", "w G5", "b J9", "w E5", "b F5"]:
        assert ask(engine, f"play {move}") == (True, ""), move
    assert stone(engine, "E5") == 0 and stone(engine, "F5") == 1  # black captured E5
    assert ask(engine, "play w E5") == (False, "illegal move")  # immediate ko recapture
    assert not engine.game.legal_mask()[vertex_to_action("E5", 9)]
    assert ask(engine, "undo") == (True, "") and stone(engine, "F5") == 0
    assert stone(engine, "E5") == -1


def test_a_colour_moving_twice_gets_a_pass_for_the_other(engine):
    ask(engine, "clear_board")
    ask(engine, "play b D4")
    assert ask(engine, "play b E5") == (True, "")  # white passed in between
    assert stone(engine, "E5") == 1 and engine.game.to_move == "white"
    ask(engine, "play w pass")
    # Black is to move after a pass; a pass for black would end the game, so white waits.
    assert ask(engine, "play w C3")[0] is False and stone(engine, "C3") == 0


def test_genmove_plays_a_legal_move_for_the_colour_asked(engine):
    ask(engine, "clear_board")
    ask(engine, "play b D4")
    legal = engine.game.legal_mask()
    ok, vertex = ask(engine, "genmove w")
    assert ok
    action = vertex_to_action(vertex, 9)
    assert legal[action] and vertex != "D4"
    assert vertex == "pass" or stone(engine, vertex) == -1
    assert engine.game.to_move == "black"
    ok, vertex = ask(engine, "genmove B")
    assert ok and (vertex == "pass" or stone(engine, vertex) == 1)
    ok, score = ask(engine, "final_score")
    assert ok and score[:2] in ("B+", "W+")


def test_game_end_score_agrees_with_pgx(engine):
    ask(engine, "clear_board")
    ask(engine, "komi 7.5")
    for move in ["b E5", "w pass", "b pass"]:
        ask(engine, f"play {move}")
    assert engine.game.over  # two passes: black owns the board, 81 - 7.5
    assert ask(engine, "final_score") == (True, "B+73.5") and engine.game.winner() == "black"
    assert ask(engine, "genmove w") == (True, "pass")
    assert ask(engine, "play w A1") == (False, "illegal move")


def test_quit_ends_the_loop(engine):
    stdout = io.StringIO()
    engine.serve(io.StringIO("1 name\n2 quit\n3 name\n"), stdout)
    assert stdout.getvalue() == "=1 MuZero-JAX\n\n=2 \n\n"  # nothing answered after quit
    assert engine.done
    engine.done = False


def test_engine_over_stdin(served):
    process, stderr = served
    stdout = process.stdout.read()
    assert process.wait(timeout=180) == 0, stderr.read_text()[-2000:]
    responses = stdout.split("\n\n")
    assert responses[:3] == ["= ", "= ", "= "] and responses[-1] == ""
    assert responses[3].startswith("=4 ") and responses[-2] == "=9 "
    vertex = responses[3][3:]
    assert vertex != "D4" and (vertex == "pass" or vertex_to_action(vertex, 9) < 81)
    board = responses[4].split("\n")
    assert " 4 . . . X" in responses[4]
    assert board[-1].startswith("black to move")  # genmove w played its move, under -O too
    if vertex != "pass":
        row = next(line.split() for line in board if line.split()[:1] == [vertex[1:]])
        assert row[1 + "ABCDEFGHJ".index(vertex[0].upper())] == "O"


def one_line_error(capsys, argv, entry_point=main):
    with pytest.raises(SystemExit) as exit_info:
        entry_point(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err and err.startswith("error: ")
    return err


def test_command_line_errors_are_one_line(tmp_path, capsys):
    from configs import get_preset
    from muzero.config import to_dict

    assert "does not exist" in one_line_error(capsys, [str(tmp_path / "missing")])
    (tmp_path / "checkpoints" / "1").mkdir(parents=True)
    (tmp_path / "config.json").write_text(json.dumps(to_dict(get_preset("smoke"))))
    assert "tic_tac_toe run" in one_line_error(capsys, [str(tmp_path)])
    from muzero.cli import gnugo

    missing = one_line_error(capsys, [str(tmp_path), "--gnugo", "no-gnugo-here"], gnugo.main)
    assert "apt-get install gnugo" in missing
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--num-simulations" in capsys.readouterr().out


@pytest.mark.skipif(
    shutil.which("gnugo") is None and shutil.which("gnugo", path="/usr/games") is None,
    reason="GNU Go is not installed (apt-get install gnugo)",
)
def test_short_match_against_gnugo(engine, go_run, capsys):
    from muzero.cli.gnugo import run_match

    record = run_match(engine, go_run, games=2, level=1, max_moves=6)
    games = record["games"]
    assert [g["muzero_colour"] for g in games] == ["black", "white"]
    for g in games:
        assert g["num_moves"] <= 6 and g["end"] in ("move cap", "two passes", "resignation")
        assert g["result"] == ("win" if g["winner"] == g["muzero_colour"] else "loss")
        assert g["pgx_score"][0] == g["winner"][0].upper()  # pgx's count decides
        assert g["gnugo_final_score"][:2] in ("B+", "W+") or g["gnugo_final_score"] == "0"
    summary = record["summary"]
    assert summary["all"]["games"] == 2 and summary["black"]["games"] == 1
    assert summary["all"]["wins"] == sum(g["result"] == "win" for g in games)
    written = sorted((go_run / "eval").iterdir())
    assert [p.suffix for p in written] == [".csv", ".json"]
    assert json.loads(written[1].read_text())["summary"] == summary
    assert len(written[0].read_text().strip().split("\n")) == 3  # header and two games
    assert "MuZero as all: " in capsys.readouterr().out


# A GTP engine that answers `name` and `quit` and hangs on anything else.
HANGING_ENGINE = """import sys, time
for line in sys.stdin:
    command = line.split()[0] if line.split() else ""
    if command == "quit":
        print("= \\n", flush=True)
        break
    if command == "name":
        print("= hanging\\n", flush=True)
    else:
        time.sleep(600)
"""


@pytest.fixture
def hanging_engine(tmp_path):
    """An executable that speaks GTP until it hangs (a stand-in for a stuck GNU Go)."""
    path = tmp_path / "hanging-gnugo"
    path.write_text(f"#!{sys.executable}\n{HANGING_ENGINE}")
    path.chmod(0o755)
    return path


def test_a_hung_engine_is_stopped_after_its_timeout(hanging_engine):
    from muzero.cli.gnugo import EngineError, GtpProcess

    engine = GtpProcess([str(hanging_engine)], timeout_s=60)  # Python's start, on a busy machine
    assert engine.send("name") == "hanging"
    engine.timeout_s = 0.5
    started = time.monotonic()
    with pytest.raises(EngineError, match="gave no answer to 'genmove b' within 0.5 s"):
        engine.send("genmove b")
    assert time.monotonic() - started < 5
    assert engine.process.poll() is not None  # stopped, not left running
    engine.close()


def test_a_hung_gnugo_ends_the_match_with_one_line(engine, go_run, hanging_engine, capsys):
    from muzero.cli import gnugo

    argv = [str(go_run), "--gnugo", str(hanging_engine), "--timeout", "1"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gnugo, "engine_from_args", lambda args: engine)  # the loaded agent
        err = one_line_error(capsys, argv, gnugo.main)
    assert "hanging-gnugo gave no answer to 'boardsize 9' within 1 s" in err
