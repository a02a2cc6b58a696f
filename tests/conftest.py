import os

# Tests run on CPU; keep XLA from grabbing every core's worth of threads per test process.
os.environ.setdefault("JAX_PLATFORMS", "cpu")


import pytest


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """One finished smoke run per session: (run dir, the Components it was built from).

    `training.build` is wrapped so tests can inspect the jitted functions the loop used
    (the no-recompilation test counts their compiled executables).
    """
    import dataclasses

    from configs import get_preset
    from muzero.runtime import training

    captured = {}
    original = training.build

    def spying_build(config):
        captured["components"] = original(config)
        return captured["components"]

    config = get_preset("smoke")
    config = config.replace(
        run=dataclasses.replace(config.run, runs_dir=str(tmp_path_factory.mktemp("smoke_runs")))
    )
    training.build = spying_build
    try:
        run_dir = training.run(config)
    finally:
        training.build = original
    return run_dir, captured["components"]


@pytest.fixture(scope="session")
def atari_smoke_run(tmp_path_factory):
    """A finished atari_smoke run (Pong, 4 iterations, a one-episode evaluation)."""
    import dataclasses

    from configs import get_preset
    from muzero.runtime import training

    config = get_preset("atari_smoke")
    config = config.replace(
        env=dataclasses.replace(config.env, max_episode_steps=100),
        eval=dataclasses.replace(config.eval, num_games=1),
        run=dataclasses.replace(
            config.run,
            max_iterations=4,
            progress=False,
            runs_dir=str(tmp_path_factory.mktemp("atari_runs")),
        ),
    )
    return training.run(config)


def pytest_itemcollected(item):
    """`make test` spreads the tests over every core (pytest-xdist, --dist loadgroup): the
    tests that share a session run go to one worker, so that run is trained once. (Marked as
    each test is collected, before xdist reads the groups.)"""
    for fixture in ("smoke_run", "atari_smoke_run", "four_device_smoke", "four_device_update"):
        if fixture in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(fixture))
