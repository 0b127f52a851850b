"""Tier: validation and dependency order."""

from __future__ import annotations

from typing import Any

import pytest

from parallel_nodes import Task, Tier
from parallel_nodes.errors import ConfigError


def _t(name: str, *deps: str) -> Task:
    return Task(name, lambda s: name, timeout=1, depends_on=deps)


def test_unknown_dependency_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        Tier("t", [_t("a", "ghost")], timeout=1)
    assert "ghost" in str(info.value)
    assert info.value.field == "t.a.depends_on"


def test_cycle_is_named() -> None:
    with pytest.raises(ConfigError, match=r"cycle among \['a', 'b'\]"):
        Tier("t", [_t("a", "b"), _t("b", "a"), _t("c")], timeout=1)


def test_self_dependency_is_rejected() -> None:
    with pytest.raises(ConfigError, match="itself"):
        Tier("t", [_t("a", "a")], timeout=1)


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        Tier("t", [_t("a"), _t("a")], timeout=1)
    assert info.value.field == "t.tasks[1].name"


def test_empty_tier_is_rejected() -> None:
    with pytest.raises(ConfigError, match="at least one Task"):
        Tier("t", [], timeout=1)


@pytest.mark.parametrize("timeout", [0, -5, float("nan")])
def test_bad_deadline_names_the_field(timeout: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Tier("t", [_t("a")], timeout=timeout)
    assert info.value.field == "t.timeout"


def test_non_task_item_is_named() -> None:
    with pytest.raises(ConfigError) as info:
        Tier("t", [_t("a"), "b"], timeout=1)  # type: ignore[list-item]
    assert info.value.field == "t.tasks[1]"


def test_order_respects_dependencies_and_declared_order() -> None:
    tier = Tier("t", [_t("c", "b"), _t("a"), _t("b", "a"), _t("d")], timeout=1)
    names = [tier.tasks[i].name for i in tier.order]
    assert names == ["a", "d", "b", "c"]
