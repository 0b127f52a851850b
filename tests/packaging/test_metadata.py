"""The project's metadata: extras and groups that say what they are for, and ``langgraph.json``."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

from tests.packaging._venv import REPO


def _project() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_all_extra_is_every_other_extra_but_ray() -> None:
    # Ray is a large install that only Task(executor="ray") needs: it is asked for by name.
    extras = _project()["project"]["optional-dependencies"]
    others = sorted(set(extras) - {"all", "ray"})
    assert extras["all"] == [f"langgraph-parallel-nodes[{','.join(others)}]"]


def test_the_dev_group_includes_every_other_group() -> None:
    groups = _project()["dependency-groups"]
    included: set[str] = set()
    pending = ["dev"]
    while pending:
        for item in groups[pending.pop()]:
            if isinstance(item, dict) and item["include-group"] not in included:
                included.add(item["include-group"])
                pending.append(item["include-group"])
    assert included == set(groups) - {"dev"}


def test_langgraph_json_names_packages_from_the_extras_without_a_version() -> None:
    # Without a version: langgraph-cli writes these unquoted into a Dockerfile's RUN line, where
    # `bm25s>=0.2.10` would install any bm25s and send the output to a file named `=0.2.10`.
    config = json.loads((REPO / "langgraph.json").read_text(encoding="utf-8"))
    declared = {
        re.split(r"[\[<>=~!; ]", req, maxsplit=1)[0]
        for reqs in _project()["project"]["optional-dependencies"].values()
        for req in reqs
    }
    from_pypi = [dep for dep in config["dependencies"] if not dep.startswith(".")]
    assert from_pypi
    for dep in from_pypi:
        assert dep in declared, f"langgraph.json lists {dep!r}: a bare name from an extra"
