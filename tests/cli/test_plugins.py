"""Plug-in opponents (`module:function`) on the command line: a plug-in that fails is a
one-line error, and a run directory's config.json cannot make a command import code that its
command line does not name."""

import dataclasses
import json
import shutil
import sys

import pytest

from configs import get_preset
from muzero.config import to_dict


@pytest.fixture
def plugin_folder(tmp_path, monkeypatch):
    """A folder on sys.path for plug-in modules; what the test imported is forgotten after."""
    folder = tmp_path / "plugins"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(str(folder)):
            del sys.modules[name]


def copy_run(smoke_run, folder, opponents=("random",)):
    """A copy of the smoke run whose config.json names `opponents`."""
    shutil.copytree(smoke_run[0], folder)
    config = get_preset("smoke")
    config = config.replace(eval=dataclasses.replace(config.eval, opponents=opponents))
    (folder / "config.json").write_text(json.dumps(to_dict(config)))
    return folder


def one_line_error(capsys, entry_point, argv):
    with pytest.raises(SystemExit) as exit_info:
        entry_point(argv)
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and "\n" not in err and err.startswith("error: "), err
    return err


def test_a_plugin_that_raises_on_import_is_a_one_line_error(
    smoke_run, tmp_path, plugin_folder, capsys
):
    from muzero.cli import elo, eval, train

    (plugin_folder / "crashing_bot.py").write_text("raise RuntimeError('no weights here')\n")
    run_dir = copy_run(smoke_run, tmp_path / "run")
    expected = "opponent 'crashing_bot:play': importing 'crashing_bot' raised RuntimeError: no"
    for entry_point, argv in (
        (eval.main, [str(run_dir), "--opponent", "crashing_bot:play"]),
        (elo.main, [str(run_dir), "--anchors", "random,crashing_bot:play"]),
        (train.main, ["smoke", "--eval.opponents", "random", "crashing_bot:play"]),
    ):
        assert expected in one_line_error(capsys, entry_point, argv)


def test_a_plugin_playing_an_illegal_move_in_make_eval_is_a_one_line_error(
    smoke_run, plugin_folder, capsys
):
    from muzero.cli import eval

    (plugin_folder / "illegal_bot.py").write_text(
        "def play(observation, legal_mask):\n    return 99\n"
    )
    argv = [str(smoke_run[0]), "--opponents", "illegal_bot:play", "--mistake-positions", "0"]
    assert "returned 99, not a legal action" in one_line_error(capsys, eval.main, argv)


MARKER_BOT = """import pathlib
pathlib.Path({marker!r}).write_text("imported")
def play(observation, legal_mask):
    return int(legal_mask.argmax())
"""


def test_a_run_directory_cannot_make_a_command_import_its_plugins(
    smoke_run, tmp_path, plugin_folder, monkeypatch, capsys
):
    """config.json names `marker_bot:play`, whose import writes a marker file: loading,
    evaluating and resuming the run import it only when the command line names it."""
    from muzero.cli import eval, train
    from muzero.runtime import runs

    marker = tmp_path / "imported"
    (plugin_folder / "marker_bot.py").write_text(MARKER_BOT.format(marker=str(marker)))
    run_dir = copy_run(smoke_run, tmp_path / "run", opponents=("random", "marker_bot:play"))
    resumed = []
    monkeypatch.setattr(train, "train", lambda config, spec, resume: resumed.append(config))

    eval.prepare(eval.parse_args([str(run_dir)]))
    train.main(["--resume", str(run_dir)])
    assert not marker.exists()
    assert runs.load_run_config(run_dir).eval.opponents == ("random",)
    assert resumed[-1].eval.opponents == ("random",)
    assert runs.plugins_left_out(run_dir) == ("marker_bot:play",)
    note = capsys.readouterr().err
    assert "not importing the plug-in opponent(s) marker_bot:play" in note
    assert "--eval.opponents random marker_bot:play" in note

    train.main(["--resume", str(run_dir), "--eval.opponents", "random", "marker_bot:play"])
    assert marker.exists() and resumed[-1].eval.opponents == ("random", "marker_bot:play")
    assert "not importing" not in capsys.readouterr().err
    marker.unlink()
    del sys.modules["marker_bot"]
    _, _, config = eval.prepare(eval.parse_args([str(run_dir), "--opponent", "marker_bot:play"]))
    assert marker.exists() and "marker_bot:play" in config.eval.opponents
