"""The locks `make` installs satisfy pyproject.toml: every dependency (and the `dev` extra) is
pinned at one exact version inside its range, the CUDA lock adds JAX's CUDA build at exactly the
locked jax version and changes nothing else, and the Makefile installs from them."""

import itertools
import pathlib
import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCKS = {"cpu": ROOT / "requirements.lock", "cuda12": ROOT / "requirements-cuda12.lock"}
EXTRAS = {"cpu": ["dev"], "cuda12": ["dev", "cuda12"]}
CUDA_PACKAGES = ("jax-cuda12-plugin", "jax-cuda12-pjrt")


def read_pins(text: str) -> dict[str, Version]:
    """{canonical name: version} of a lock; raises ValueError on a line that is not `name==v`."""
    pins = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or requirement.url or requirement.marker:
            raise ValueError(f"not an exact pin: {line!r}")
        pins[canonicalize_name(requirement.name)] = Version(specs[0].version)
    return pins


def unmet(requirements: list[str], pins: dict[str, Version]) -> list[str]:
    """The requirements (pyproject.toml strings) that `pins` leave unpinned or pin outside their
    range, with why."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name not in pins:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{text}: the lock has {pins[name]}")
    return problems


def declared(extras: list[str]) -> list[str]:
    optional = PROJECT["optional-dependencies"]
    return PROJECT["dependencies"] + [r for extra in extras for r in optional[extra]]


def test_the_checks_catch_a_lock_that_does_not_fit():
    pins = read_pins("jax==0.9.0  # via muzero-jax\n\nnumpy==2.4.6\n")
    assert unmet(["jax>=0.10.2,<0.11", "numpy>=2.0", "tyro>=1.0"], pins) == [
        "jax>=0.10.2,<0.11: the lock has 0.9.0",
        "tyro>=1.0: not in the lock",
    ]
    for loose in ("numpy>=2.0", "numpy", "numpy==2.4.6 ; python_version < '3.12'"):
        with pytest.raises(ValueError, match="not an exact pin"):
            read_pins(loose)


@pytest.mark.parametrize("build", sorted(LOCKS))
def test_the_lock_pins_every_dependency_inside_pyproject(build):
    pins = read_pins(LOCKS[build].read_text())
    assert unmet(declared(EXTRAS[build]), pins) == []
    assert "pytest-xdist" in pins and "uv" not in pins  # the dev extra is in, tooling is not


def test_the_locks_say_what_platform_they_are_for():
    for lock in LOCKS.values():
        lines = lock.read_text().splitlines()
        header = " ".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
        assert "Linux x86_64 and CPython 3.11+" in header, lock.name


def test_the_cuda_lock_is_the_cpu_lock_plus_jax_cuda_build_at_the_jax_version():
    cpu = read_pins(LOCKS["cpu"].read_text())
    cuda = read_pins(LOCKS["cuda12"].read_text())
    assert {name: cuda[name] for name in cpu} == cpu
    added = set(cuda) - set(cpu)
    assert set(CUDA_PACKAGES) <= added
    assert all(name in CUDA_PACKAGES or name.startswith("nvidia-") for name in added), added
    for name in CUDA_PACKAGES:
        assert cuda[name] == cpu["jax"] == cpu["jaxlib"], name


def test_make_installs_the_lock_and_reinstalls_when_it_changes():
    makefile = (ROOT / "Makefile").read_text()
    rule = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert rule and "$(LOCK)" in rule.group(1).split()
    assert "pip install -q -r $(LOCK)" in rule.group(2)
    assert "--no-deps -e '.[dev]'" in rule.group(2)
    assert re.search(r"^LOCK +:= .*requirements-cuda12\.lock,requirements\.lock", makefile, re.M)
