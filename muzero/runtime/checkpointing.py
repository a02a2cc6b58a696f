"""Orbax checkpoints of the whole training state; never pickle.

A checkpoint holds everything a run needs to continue as if never stopped: parameters,
optimizer state, replay, actor (environment states), RNG key and counters. Orbax writes each
step into a temporary directory and renames it when complete, so a process killed mid-write
leaves the previous checkpoint intact; `remove_temporary` clears what such a kill leaves.

Every save first checks that the disk can hold it (`DiskFullError` otherwise, before anything
is written), and every load first checks the files (`verify`: metadata and the byte ranges the
array index promises), so a full disk or a damaged checkpoint ends in one line naming the
folder or the file rather than a half-written save or a traceback after allocation.
"""

from __future__ import annotations

import logging
import pathlib
import shutil
from typing import Any

import jax
import orbax.checkpoint as ocp

from muzero.runtime.checkpoint_files import item_problem
from muzero.runtime.memory import describe

# Orbax logs every save at INFO; keep the console for the progress bar.
logging.getLogger("absl").setLevel(logging.WARNING)


class CheckpointError(RuntimeError):
    """A checkpoint is missing or unreadable; the message names the path."""


class DiskFullError(CheckpointError):
    """A save was refused, before it started, for want of disk space; the message names the
    folder, the bytes needed and the bytes free."""


# The suffix orbax (0.12) gives the folder a save writes before renaming it: '<step>' + suffix
# (older versions appended '-<timestamp>'). Nothing but a killed save leaves one behind.
TEMPORARY_SUFFIX = ".orbax-checkpoint-tmp"
# Orbax compresses arrays (zstd), so a save rarely needs more than their bytes; this covers
# incompressible data, metadata and indexes.
SAVE_MARGIN, SAVE_SLACK_BYTES = 1.05, 16 * 2**20


def free_bytes(path: pathlib.Path) -> int:
    """Bytes free to this user on the file system holding `path`."""
    return shutil.disk_usage(path).free


def bytes_needed(*trees: Any) -> int:
    """A generous estimate of the disk space a save of `trees` takes (arrays' bytes + margin)."""
    raw = sum(int(getattr(leaf, "nbytes", 0)) for leaf in jax.tree.leaves(trees))
    return int(raw * SAVE_MARGIN) + SAVE_SLACK_BYTES


def _check_space(folder: pathlib.Path, needed: int, what: str, kept: str) -> None:
    """Refuse a save of `needed` bytes into `folder` (inside a run) that the disk cannot hold."""
    free = free_bytes(folder)
    if free < needed:
        run_dir = folder.parent
        raise DiskFullError(
            f"no room to save {what}: {folder} has {describe(free)} free ({free:,} bytes) and "
            f"the save needs about {describe(needed)} ({needed:,} bytes); nothing was written "
            f"and {kept}; free some space, then continue with --resume {run_dir}"
        )


def _steps(folder: pathlib.Path) -> list[int]:
    """Iterations of the finished saves in `folder` (never a killed save's temporary folder)."""
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())


def latest_step(run_dir: pathlib.Path) -> int | None:
    """The iteration of a run's newest finished checkpoint, or None if it has none."""
    steps = _steps(checkpoint_dir(pathlib.Path(run_dir)))
    return steps[-1] if steps else None


def remove_temporary(run_dir: pathlib.Path) -> list[pathlib.Path]:
    """Delete the temporary folders that saves killed mid-write left in checkpoints/ and
    snapshots/ (call before a session saves anything); returns what was removed."""
    removed = []
    for folder in (checkpoint_dir(run_dir), snapshot_dir(run_dir)):
        if folder.is_dir():
            for path in folder.iterdir():
                if TEMPORARY_SUFFIX in path.name:
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed.append(path)
    return removed


def checkpoint_dir(run_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(run_dir).resolve() / "checkpoints"


def make_manager(run_dir: pathlib.Path, max_to_keep: int) -> ocp.CheckpointManager:
    return ocp.CheckpointManager(
        checkpoint_dir(run_dir),
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
    )


def save(manager: ocp.CheckpointManager, step: int, state: Any, params: Any) -> None:
    """Save the whole state, and the parameters again on their own so an agent can load them
    without allocating the replay. A step already saved (the loop's last periodic checkpoint
    falling on its final iteration) holds this very state and is kept as it is."""
    if step in manager.all_steps():
        return
    # A save still in flight must be on disk (and the oldest checkpoint rotated away) before
    # the free space is read; orbax's save would wait for it here anyway.
    manager.wait_until_finished()
    latest = manager.latest_step()
    kept = "no checkpoint exists yet" if latest is None else f"checkpoint {latest} is kept"
    _check_space(
        pathlib.Path(manager.directory), bytes_needed(state, params), f"checkpoint {step}", kept
    )
    manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), params=ocp.args.StandardSave(params)
        ),
        force=True,
    )


def snapshot_dir(run_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(run_dir).resolve() / "snapshots"


def save_snapshot(run_dir: pathlib.Path, step: int, params: Any, keep: int = 0) -> None:
    """Parameters alone, kept apart from the rotating checkpoints: `muzero.cli.elo` rates a
    run's strength over training from these. Written to a temporary name, then renamed. With
    `keep` > 0 only the newest `keep` snapshots stay, and the untrained one (iteration 0)."""
    final = snapshot_dir(run_dir) / str(step)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        _check_space(
            final.parent, bytes_needed(params), f"snapshot {step}", "no checkpoint is touched"
        )
        with ocp.StandardCheckpointer() as checkpointer:
            checkpointer.save(final, params)
    if keep > 0:
        prune_snapshots(run_dir, keep)


def prune_snapshots(run_dir: pathlib.Path, keep: int) -> None:
    """Delete all snapshots but the newest `keep` and iteration 0 (the untrained network, the
    first point of an Elo-over-training curve). Each is renamed to a temporary name first, so
    a kill mid-delete leaves nothing that reads as a snapshot."""
    later = [step for step in _steps(snapshot_dir(run_dir)) if step != 0]
    for step in later[: max(0, len(later) - keep)]:
        doomed = snapshot_dir(run_dir) / f"{step}{TEMPORARY_SUFFIX}-deleted"
        (snapshot_dir(run_dir) / str(step)).rename(doomed)
        shutil.rmtree(doomed)


def snapshot_steps(run_dir: pathlib.Path) -> list[int]:
    """Iterations of every parameter snapshot and checkpoint of a run, ascending."""
    return sorted(set(_steps(snapshot_dir(run_dir))) | set(_steps(checkpoint_dir(run_dir))))


def restore_params(run_dir: pathlib.Path, step: int, target: Any) -> Any:
    """Parameters of `step`, from its checkpoint if one is kept, else from its snapshot."""
    verify_params(run_dir, step)
    if (checkpoint_dir(run_dir) / str(step)).is_dir():
        return restore(run_dir, step, target, item="params")
    directory = snapshot_dir(run_dir) / str(step)
    try:
        with ocp.StandardCheckpointer() as checkpointer:
            return checkpointer.restore(directory, target)
    except Exception as error:  # orbax raises many types for a damaged directory
        raise CheckpointError(
            f"snapshot {directory} is unreadable: {_root_cause(error)}"
        ) from error


def resolve(path: pathlib.Path) -> tuple[pathlib.Path, int]:
    """A run directory, its checkpoints/ folder or one step folder -> (run dir, step)."""
    path = pathlib.Path(path).resolve()
    if not path.exists():
        raise CheckpointError(f"checkpoint path {path} does not exist")
    if (path / "checkpoints").is_dir():
        run_dir, step = path, None
    elif path.name == "checkpoints":
        run_dir, step = path.parent, None
    elif path.parent.name == "checkpoints" and path.name.isdigit():
        run_dir, step = path.parent.parent, int(path.name)
    else:
        raise CheckpointError(f"{path} is neither a run directory nor a checkpoint")
    if step is None:
        steps = _steps(checkpoint_dir(run_dir))
        if not steps:
            raise CheckpointError(f"no checkpoint in {checkpoint_dir(run_dir)}")
        step = steps[-1]
    return run_dir, step


def verify(run_dir: pathlib.Path, step: int, items: tuple[str, ...] = ("state", "params")) -> None:
    """Check a checkpoint's files without reading an array (metadata, and that every data file
    holds the bytes its index promises), so a damaged one fails before compile and allocation.

    Damage that only the array data shows is caught by `restore`, also with a one-line error.
    """
    directory = checkpoint_dir(run_dir) / str(step)
    for item in items:
        problem = item_problem(directory / item)
        if problem:
            raise CheckpointError(f"checkpoint {directory} is damaged: {item}/{problem}")


def verify_params(run_dir: pathlib.Path, step: int) -> None:
    """`verify` for the parameters of `step`: its checkpoint's, else its snapshot's."""
    if (checkpoint_dir(run_dir) / str(step)).is_dir():
        return verify(run_dir, step, items=("params",))
    directory = snapshot_dir(run_dir) / str(step)
    if not directory.is_dir():
        raise CheckpointError(f"{run_dir} has no checkpoint or snapshot of iteration {step}")
    problem = item_problem(directory)
    if problem:
        raise CheckpointError(f"snapshot {directory} is damaged: {problem}")


def restore(run_dir: pathlib.Path, step: int, target: Any, item: str = "state") -> Any:
    """Restore `item` ("state" or "params") of `step` into the structure of `target`."""
    directory = checkpoint_dir(run_dir) / str(step)
    try:
        with ocp.CheckpointManager(checkpoint_dir(run_dir)) as manager:
            restored = manager.restore(
                step, args=ocp.args.Composite(**{item: ocp.args.StandardRestore(target)})
            )
            return restored[item]
    except Exception as error:  # orbax raises many types for a damaged directory
        raise CheckpointError(
            f"checkpoint {directory} is unreadable or does not match this config: reading "
            f"{item}/ failed ({_root_cause(error)})"
        ) from error


def _root_cause(error: BaseException) -> str:
    """The first line of the innermost exception: orbax wraps tensorstore's error, which names
    the array and the database ("Error reading "params.w/0.0" in OCDBT database at ...")."""
    while (error.__cause__ or error.__context__) is not None:
        error = error.__cause__ or error.__context__
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0][:300] if text else ''}"
