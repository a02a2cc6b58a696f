"""Train a preset: `python -m muzero.cli.train [PRESET] [--resume RUN_DIR] [--section.field VALUE]`.

`make train ENV=cartpole ARGS='--search.num-simulations 8'` runs this. Every config field can
be overridden; `--help` lists them all with their defaults. Bad input (an unknown preset or
field, an invalid value, a missing or unreadable checkpoint) stops with a one-line error
before anything compiles.
"""

from __future__ import annotations

import signal
import sys

from muzero.cli.common import fail, parse_config, pop_option


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    from configs import PRESETS, get_preset
    from muzero.runtime import checkpointing
    from muzero.runtime.components import check_config
    from muzero.runtime.runs import load_run_config

    resume, args = pop_option(args, "--resume")
    preset = None
    if args and not args[0].startswith("-"):
        preset, args = args[0], args[1:]
    description = (
        f"Train MuZero. PRESET is one of: {', '.join(sorted(PRESETS))} "
        "(default tictactoe). --resume RUN_DIR continues a run from its last "
        "checkpoint, with its saved config; flags below override any field."
    )
    try:
        if resume is not None:
            run_dir, _ = checkpointing.resolve(resume)
            base = load_run_config(run_dir)
            if preset is not None and preset != base.preset:
                fail(f"--resume {resume} is a {base.preset!r} run, not {preset!r}")
        else:
            base = get_preset(preset or "tictactoe")
    except (ValueError, checkpointing.CheckpointError) as error:
        fail(str(error))
    config = parse_config(base, args, description)
    if resume is not None:
        note_plugins_left_out(run_dir, config)
    try:
        spec = check_config(config)
    except ValueError as error:
        fail(str(error))
    train(config, spec, resume)


def note_plugins_left_out(run_dir, config) -> None:
    """Say which plug-in opponents of the run's config.json a resume leaves out (it imports
    only the ones this command line names) and how to keep them."""
    from muzero.runtime.runs import plugins_left_out

    named = plugins_left_out(run_dir)
    left_out = [name for name in named if name not in config.eval.opponents]
    if left_out:
        keep = " ".join(dict.fromkeys((*config.eval.opponents, *named)))
        print(
            f"note: not importing the plug-in opponent(s) {', '.join(left_out)} named in "
            f"{run_dir / 'config.json'} (a run's files may come from anyone); to evaluate "
            f"against them, name them on the command line: --eval.opponents {keep}",
            file=sys.stderr,
        )


def train(config, spec, resume: str | None) -> None:
    """Say which device runs it, run with a progress bar, then print the run's summary."""
    import json

    import jax

    from muzero.cli.progress import ProgressDisplay
    from muzero.runtime import checkpointing, devices, memory, sharding
    from muzero.runtime.stopping import NonFiniteError
    from muzero.runtime.training import run

    # The devices this run uses (run.devices), checked against the machine by check_config.
    print(devices.describe(jax.local_devices()[: sharding.device_count(config)]), flush=True)
    platform = jax.devices()[0].platform
    for warning in devices.cpu_warnings(config.env.id, platform, devices.nvidia_gpu_expected()):
        print(warning, flush=True)
    print(memory.replay_summary(config, spec), flush=True)
    display = ProgressDisplay(config, enabled=config.run.progress)
    try:
        run_dir = run(config, resume=resume, display=display)
    except (checkpointing.CheckpointError, NonFiniteError) as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; resume with --resume <run dir> (the last checkpoint is kept)")
    summary = json.loads((run_dir / "summary.json").read_text())
    display.print_summary(summary)
    if summary.get("stopped_by"):
        # A scheduler's SIGTERM or a Ctrl-C: the iteration in flight finished and was saved.
        print(
            f"stopped by {summary['stopped_by']} after iteration {summary['iterations']}, "
            f"checkpoint written; continue with: make train RESUME={run_dir}",
            file=sys.stderr,
        )
        raise SystemExit(128 + signal.Signals[summary["stopped_by"]].value)


if __name__ == "__main__":
    main()
