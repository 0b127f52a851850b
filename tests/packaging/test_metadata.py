"""The project's metadata: extras and groups that say what they are for, and ``langgraph.json``."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from tests.packaging._venv import REPO


def _project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_all_extra_is_every_other_extra() -> None:
    extras = _project()["project"]["optional-dependencies"]
    assert extras["all"] == [f"langgraph-parallel-nodes[{','.join(sorted(set(extras) - {'all'}))}]"]


def test_the_dev_group_includes_every_other_group() -> None:
    groups = _project()["dependency-groups"]
    included = {item["include-group"] for item in groups["dev"]}
    assert included == set(groups) - {"dev"}


def test_langgraph_json_pins_its_packages_as_the_extras_do() -> None:
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    declared = {
        req.split(">", 1)[0].split("=", 1)[0]: req
        for reqs in _project()["project"]["optional-dependencies"].values()
        for req in (r.split(";")[0].split("#")[0].strip() for r in reqs)
    }
    for dep in config["dependencies"]:
        if not dep.startswith("."):
            name = dep.split(">", 1)[0].split("=", 1)[0]
            assert declared.get(name) == dep, (
                f"langgraph.json has {dep}; pyproject.toml {declared.get(name)}"
            )
