"""Damage: a damaged checkpoint fails with one line naming its file before anything is
allocated."""

import shutil

import pytest

from muzero.runtime import checkpointing, runs


def largest_file(folder):
    return max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture
def run_copy(smoke_run, tmp_path):
    """A copy of the session's smoke run (12 iterations, checkpoint 12, snapshots from 0)."""
    return shutil.copytree(smoke_run[0], tmp_path / "run")


@pytest.mark.parametrize("item", ["state", "params"])
def test_a_truncated_array_file_is_named_before_anything_is_read(run_copy, item):
    damaged = largest_file(run_copy / "checkpoints" / "12" / item / "ocdbt.process_0")
    truncate(damaged)
    with pytest.raises(checkpointing.CheckpointError) as raised:
        checkpointing.verify(run_copy, 12)
    message = str(raised.value)
    assert "\n" not in message
    assert "checkpoints/12" in message and f"{item}/ocdbt.process_0/d/{damaged.name}" in message
    assert "truncated" in message


def test_a_missing_array_file_is_named(run_copy):
    missing = largest_file(run_copy / "checkpoints" / "12" / "state" / "ocdbt.process_0")
    missing.unlink()
    with pytest.raises(checkpointing.CheckpointError, match=f"{missing.name} is missing"):
        checkpointing.verify(run_copy, 12)


def test_a_truncated_snapshot_is_named_when_its_parameters_are_loaded(run_copy):
    damaged = largest_file(run_copy / "snapshots" / "0" / "ocdbt.process_0")
    truncate(damaged)
    target = checkpointing.restore_params(run_copy, 12, _params_target(run_copy))
    with pytest.raises(checkpointing.CheckpointError) as raised:
        checkpointing.restore_params(run_copy, 0, target)
    assert "snapshots/0" in str(raised.value) and damaged.name in str(raised.value)
    assert "\n" not in str(raised.value)


def _params_target(run_dir):
    from muzero.agent import load_params

    return load_params(run_dir, 12, runs.load_run_config(run_dir))
