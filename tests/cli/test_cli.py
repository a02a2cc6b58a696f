"""Bad input gets a one-line error naming the problem, before anything compiles."""

import os
import subprocess
import sys

import pytest

from configs import get_preset


def train(*args, cwd=None):
    env = {**os.environ, "JAX_LOG_COMPILES": "1"}
    return subprocess.run(
        [sys.executable, "-m", "muzero.cli.train", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
    )


# Functions of ours that JAX would name in a compile log. Importing pgx materialises a few
# constants (jit(convert_element_type)); nothing of the model, search or loop may compile.
OUR_JITS = (
    "jit(act",
    "jit(learn",
    "jit(add",
    "jit(search",
    "jit(init",
    "jit(apply",
    "jit(evaluate",
    "jit(reset",
    "jit(step",
    "jit(update",
    "jit(scan",
    "jit(while",
)


def assert_one_line_error(result, *needles):
    assert result.returncode == 2, result.stderr
    log = [line for line in result.stderr.splitlines() if line.startswith("WARNING:jax")]
    compiled = [line for line in log if "Compiling" in line]
    assert not [line for line in compiled if any(name in line for name in OUR_JITS)], compiled
    lines = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not line.startswith("WARNING:jax")
    ]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_unknown_preset():
    assert_one_line_error(train("no_such_preset"), "no_such_preset", "presets:")


def test_unknown_field_suggests_the_right_one():
    assert_one_line_error(
        train("smoke", "--search.num-simulation", "8"),
        "--search.num-simulation",
        "--search.num-simulations",
    )


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--search.num-simulations", "0"), "search.num_simulations"),
        (("--search.num-simulations", "abc"), "--search.num-simulations"),
        (("--env.id", "NoSuchEnv-v0"), "NoSuchEnv-v0"),
        (("--replay.capacity", "10"), "replay.capacity"),
        (("--env.id", "sparrow_mahjong"), "3 players"),
    ],
)
def test_invalid_value_names_the_field(args, needle):
    assert_one_line_error(train("smoke", *args), needle)


def test_missing_checkpoint(tmp_path):
    assert_one_line_error(train("--resume", str(tmp_path / "nowhere")), "does not exist")


def test_corrupt_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    (run_dir / "checkpoints" / "5" / "state").mkdir(parents=True)
    (run_dir / "checkpoints" / "5" / "state" / "garbage").write_text("not a checkpoint")
    import json

    from configs import get_preset
    from muzero.config import to_dict

    (run_dir / "config.json").write_text(json.dumps(to_dict(get_preset("smoke"))))
    assert_one_line_error(train("--resume", str(run_dir)), "checkpoints/5")


def test_help_lists_fields_with_their_docs():
    result = subprocess.run(
        [sys.executable, "-m", "muzero.cli.train", "smoke", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "--search.num-simulations" in result.stdout
    assert "Simulations per search" in result.stdout


@pytest.mark.parametrize(
    "args,needle",
    [
        (("--env.id", "ALE/NoSuchGame"), "unknown Atari game"),
        (("--replay.capacity", "100000000"), "replay.capacity 100,000,000 frames needs"),
        (("--env.frame-skip", "0"), "env.frame_skip"),
    ],
)
def test_atari_settings_are_checked_before_compiling(args, needle):
    assert_one_line_error(train("atari_smoke", *args), needle)


def test_history_on_a_two_player_game_is_refused():
    assert_one_line_error(train("smoke", "--history.frames", "4"), "two-player")


def test_the_command_line_takes_any_spelling_of_an_atari_game():
    from muzero.cli.common import parse_config

    config = parse_config(get_preset("atari_smoke"), ["--env.id", "ALE/space_invaders"], "")
    assert config.env.id == "ALE/SpaceInvaders"


def test_resume_refuses_a_change_the_checkpoint_cannot_hold(smoke_run, tmp_path):
    """A failed resume used to write its config over the run's before the restore failed,
    leaving a run that could no longer be resumed or loaded."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(smoke_run[0], run_dir)
    saved = (run_dir / "config.json").read_bytes()
    result = train("--resume", str(run_dir), "--network.hidden-size", "48")
    assert_one_line_error(result, "network.hidden_size", "32 -> 48")
    assert (run_dir / "config.json").read_bytes() == saved


def damaged_copy(smoke_run, tmp_path, folder, how="truncate"):
    """A copy of the smoke run whose largest array file under `folder` is cut in half
    (truncate) or overwritten with as many 0xff bytes (overwrite)."""
    import shutil

    run_dir = shutil.copytree(smoke_run[0], tmp_path / "run")
    files = [p for p in (run_dir / folder / "ocdbt.process_0").rglob("*") if p.is_file()]
    damaged = max(files, key=lambda p: p.stat().st_size)
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2] if how == "truncate" else b"\xff" * len(data))
    return run_dir, damaged


def test_truncated_checkpoint_is_named_before_compiling(smoke_run, tmp_path):
    run_dir, damaged = damaged_copy(smoke_run, tmp_path, "checkpoints/12/state")
    result = train("--resume", str(run_dir))
    assert "Traceback" not in result.stderr
    assert_one_line_error(result, "checkpoints/12", f"state/ocdbt.process_0/d/{damaged.name}")


@pytest.mark.parametrize(
    "folder, args, how, needles",
    [
        ("checkpoints/12/params", [], "truncate", ["truncated"]),
        ("snapshots/0", ["--step", "0"], "truncate", ["truncated"]),
        # Same length, so only reading the arrays shows it: orbax's error names the array.
        ("checkpoints/12/params", [], "overwrite", ["reading params/ failed", "Error reading"]),
    ],
)
def test_eval_names_a_damaged_parameter_file(
    smoke_run, tmp_path, capsys, folder, args, how, needles
):
    from muzero.cli import eval as eval_cli

    run_dir, damaged = damaged_copy(smoke_run, tmp_path, folder, how)
    with pytest.raises(SystemExit) as exit_info:
        eval_cli.main([str(run_dir), "--games", "1", "--mistake-positions", "0", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    assert str(run_dir / folder.removesuffix("/params")) in err
    assert all(needle in err for needle in needles), err
    if how == "truncate":
        assert damaged.name in err


def test_elo_names_a_damaged_snapshot(smoke_run, tmp_path, capsys):
    from muzero.cli import elo

    run_dir, damaged = damaged_copy(smoke_run, tmp_path, "snapshots/0")
    with pytest.raises(SystemExit) as exit_info:
        elo.main([str(run_dir), "--games", "1", "--anchors", "random", "--max-checkpoints", "2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1, err
    assert damaged.name in err and "truncated" in err
