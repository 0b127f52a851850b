"""``task_result``, the one place a ``TaskResult`` is built, sets every field of it."""

from __future__ import annotations

import dataclasses
import pickle

from parallel_nodes import Task, TaskResult, TaskStatus
from parallel_nodes._outcome import task_result


def test_every_field_is_set_and_equals_what_the_constructor_builds() -> None:
    task = Task("docs", lambda s: 1, timeout=1.0, default_factory=list, output_key="found")
    error = RuntimeError("down")
    built = task_result(
        task,
        TaskStatus.ERROR,
        "ignored: not ok",
        duration=0.5,
        attempts=2,
        error=error,
        started=0.1,
        contended=0.2,
        resumed=False,
        cached=False,
    )
    expected = TaskResult(
        name="docs",
        status=TaskStatus.ERROR,
        value=[],
        duration=0.5,
        attempts=2,
        error=error,
        output_key="found",
        started=0.1,
        resumed=False,
        contended=0.2,
        cached=False,
    )
    assert {f.name for f in dataclasses.fields(TaskResult)} == set(TaskResult.__slots__)
    for field in dataclasses.fields(TaskResult):  # an unset slot raises AttributeError here
        assert getattr(built, field.name) == getattr(expected, field.name), field.name
    assert built == expected
    assert hash(task_result(task, TaskStatus.OK, 1)) == hash(task_result(task, TaskStatus.OK, 1))
    assert pickle.loads(pickle.dumps(task_result(task, TaskStatus.OK, 1))).value == 1


def test_a_result_stays_frozen() -> None:
    result = task_result(Task("a", lambda s: 1, timeout=1.0), TaskStatus.OK, 1)
    try:
        result.value = 2  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a TaskResult could be changed")
