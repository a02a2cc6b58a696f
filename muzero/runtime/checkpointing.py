"""Orbax checkpoints of the whole training state; never pickle.

A checkpoint holds everything a run needs to continue as if never stopped: parameters,
optimizer state, replay, actor (environment states), RNG key and counters. Orbax writes each
step into a temporary directory and renames it when complete, so a process killed mid-write
leaves the previous checkpoint intact.

Every load first checks the files (`verify`: metadata and the byte ranges the array index
promises), so a damaged checkpoint ends in one line naming the file rather than a traceback
after allocation.
"""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import orbax.checkpoint as ocp

from muzero.runtime.checkpoint_files import item_problem

# Orbax logs every save at INFO; keep the console for the progress bar.
logging.getLogger("absl").setLevel(logging.WARNING)


class CheckpointError(RuntimeError):
    """A checkpoint is missing or unreadable; the message names the path."""


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
    manager.save(
        step,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), params=ocp.args.StandardSave(params)
        ),
        force=True,
    )


def snapshot_dir(run_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(run_dir).resolve() / "snapshots"


def save_snapshot(run_dir: pathlib.Path, step: int, params: Any) -> None:
    """Parameters alone, kept for good (checkpoints rotate): `muzero.cli.elo` rates a run's
    strength over training from these. Written to a temporary name, then renamed."""
    final = snapshot_dir(run_dir) / str(step)
    if final.exists():
        return
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(final, params)


def snapshot_steps(run_dir: pathlib.Path) -> list[int]:
    """Iterations of every parameter snapshot and checkpoint of a run, ascending."""
    steps = set()
    for folder in (snapshot_dir(run_dir), checkpoint_dir(run_dir)):
        if folder.is_dir():
            steps |= {int(p.name) for p in folder.iterdir() if p.name.isdigit()}
    return sorted(steps)


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
        steps = sorted(int(p.name) for p in checkpoint_dir(run_dir).iterdir() if p.name.isdigit())
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
