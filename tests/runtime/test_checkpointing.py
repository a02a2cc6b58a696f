"""Disk and damage: saves that do not fit are refused before they start, snapshots are capped,
leftovers of killed saves are removed, and a damaged checkpoint fails with one line naming
its file before anything is allocated."""

import dataclasses
import shutil

import jax
import numpy as np
import pytest

from configs import get_preset
from muzero.runtime import checkpointing, runs, training

TMP = ".orbax-checkpoint-tmp"


def tiny_state():
    return {"replay": np.arange(250_000, dtype=np.float32), "key": np.zeros(2, np.uint32)}


def tiny_params():
    return {"w": np.ones((4, 4), np.float32)}


def largest_file(folder):
    return max((p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_checkpoint_that_does_not_fit_is_refused_before_it_starts(tmp_path, monkeypatch):
    manager = checkpointing.make_manager(tmp_path, max_to_keep=2)
    checkpointing.save(manager, 1, tiny_state(), tiny_params())
    manager.wait_until_finished()
    monkeypatch.setattr(checkpointing, "free_bytes", lambda path: 500_000)
    with pytest.raises(checkpointing.DiskFullError) as raised:
        checkpointing.save(manager, 2, tiny_state(), tiny_params())
    message = str(raised.value)
    assert "\n" not in message
    assert str(checkpointing.checkpoint_dir(tmp_path)) in message
    assert "500.00 kB free" in message and "needs" in message
    assert "checkpoint 1 is kept" in message
    assert isinstance(raised.value, checkpointing.CheckpointError)
    # Nothing of step 2 was started, not even a temporary folder; step 1 is intact.
    assert sorted(p.name for p in checkpointing.checkpoint_dir(tmp_path).iterdir()) == ["1"]
    assert manager.all_steps() == [1]
    checkpointing.verify(tmp_path, 1)
    manager.close()


def test_a_snapshot_that_does_not_fit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpointing, "free_bytes", lambda path: 1_000)
    with pytest.raises(checkpointing.DiskFullError, match="snapshot 3"):
        checkpointing.save_snapshot(tmp_path, 3, tiny_params())
    assert not checkpointing.snapshot_dir(tmp_path).exists() or not list(
        checkpointing.snapshot_dir(tmp_path).iterdir()
    )


def test_snapshots_are_capped_keeping_the_newest_and_the_untrained_one(tmp_path):
    for step in (0, 5, 10, 15, 20):
        checkpointing.save_snapshot(tmp_path, step, tiny_params(), keep=2)
    names = sorted(int(p.name) for p in checkpointing.snapshot_dir(tmp_path).iterdir())
    assert names == [0, 15, 20]
    checkpointing.save_snapshot(tmp_path, 25, tiny_params(), keep=0)  # 0 = keep all
    assert checkpointing.snapshot_steps(tmp_path) == [0, 15, 20, 25]


def test_leftovers_of_killed_saves_are_never_picked_and_are_removed(tmp_path):
    manager = checkpointing.make_manager(tmp_path, max_to_keep=2)
    checkpointing.save(manager, 4, tiny_state(), tiny_params())
    manager.close()
    checkpointing.save_snapshot(tmp_path, 4, tiny_params())
    leftovers = [
        checkpointing.checkpoint_dir(tmp_path) / f"9{TMP}",
        checkpointing.snapshot_dir(tmp_path) / f"9{TMP}",
        checkpointing.snapshot_dir(tmp_path) / f"7{TMP}-1733000000",  # older orbax names
    ]
    for folder in leftovers:
        (folder / "state").mkdir(parents=True)
        (folder / "state" / "half-written").write_bytes(b"\0" * 100)
    assert checkpointing.resolve(tmp_path) == (tmp_path.resolve(), 4)
    assert checkpointing.snapshot_steps(tmp_path) == [4]
    removed = checkpointing.remove_temporary(tmp_path)
    assert sorted(removed) == sorted(p.resolve() for p in leftovers)
    assert not any(p.exists() for p in leftovers)
    assert checkpointing.resolve(tmp_path) == (tmp_path.resolve(), 4)


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


def test_a_full_disk_stops_a_fresh_run_at_its_first_save(tmp_path, monkeypatch):
    config = get_preset("smoke")
    config = config.replace(run=dataclasses.replace(config.run, runs_dir=str(tmp_path)))
    monkeypatch.setattr(checkpointing, "free_bytes", lambda path: 10_000)
    with pytest.raises(checkpointing.DiskFullError, match="no room to save snapshot 0"):
        training.run(config)
    (run_dir,) = (tmp_path / "smoke").iterdir()
    assert not list((run_dir / "snapshots").glob("*")) and not list(
        (run_dir / "checkpoints").glob("*")
    )


# One resumed session (a compile of the loop, about 40 s on 2 busy cores) through the paths
# the tests above cover one by one: in `make test-slow`.
@pytest.mark.slow
def test_a_full_disk_stops_the_run_at_its_save_and_keeps_the_last_checkpoint(run_copy, monkeypatch):
    """A resumed session first removes what killed saves left, then, with no room for its
    final checkpoint, stops with DiskFullError and leaves its checkpoints as they were."""
    before = sorted(p.name for p in (run_copy / "checkpoints").iterdir())
    leftovers = [run_copy / "checkpoints" / f"13{TMP}", run_copy / "snapshots" / f"14{TMP}"]
    for folder in leftovers:
        folder.mkdir()
        (folder / "half-written").write_bytes(b"\0" * 100)
    config = runs.load_run_config(run_copy)
    config = config.replace(
        run=dataclasses.replace(config.run, max_iterations=13, snapshot_interval_s=0.0)
    )
    monkeypatch.setattr(checkpointing, "free_bytes", lambda path: 10_000)
    with pytest.raises(checkpointing.DiskFullError, match="checkpoint 12 is kept"):
        training.run(config, resume=run_copy, evaluate_at_end=False)
    assert not any(p.exists() for p in leftovers)
    assert sorted(p.name for p in (run_copy / "checkpoints").iterdir()) == before
    checkpointing.verify(run_copy, 12)
    assert jax.tree.leaves(_params_target(run_copy))
