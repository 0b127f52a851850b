#!/usr/bin/env bash
# The LangGraph gate: LangGraph's own node-execution tests, run plainly and through the engine.
#
# Builds a venv of its own (.ci/cache/gate-venv, with uv: this checkout with every extra, our
# test group, LangGraph's test dependencies), downloads the sdist of the langgraph installed there
# (cached in .ci/cache/langgraph/), runs the files below once per mode (plain, run_tier,
# parallel_node; see tests/langgraph_gate/pn_gate_plugin.py) and fails when a test that passes
# plainly fails through the engine. Slow: a few minutes per mode. Reports land in
# .ci/cache/langgraph-gate/ (summary.md, one JSON and one log per mode). Only the sdist's tests/
# are unpacked: its langgraph/ source would shadow the installed package on sys.path.
#
#   .ci/langgraph-gate.sh                      # all modes
#   GATE_MODES=plain,run_tier .ci/langgraph-gate.sh
#   GATE_JOBS=2 .ci/langgraph-gate.sh          # modes at once (one pytest process each)
#   .ci/langgraph-gate.sh -k interrupt         # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ -z "${VIRTUAL_ENV:-}" ] && [ -f .venv/bin/activate ]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi

# LangGraph's test files for what a node does: execution, interrupts, hand-offs to the parent,
# runtime injection, state schemas, retries, config, subgraphs, time travel and streaming.
FILES=(
  tests/test_pregel.py
  tests/test_pregel_async.py
  tests/test_interruption.py
  tests/test_interrupt_state.py
  tests/test_parent_command.py
  tests/test_parent_command_async.py
  tests/test_runtime.py
  tests/test_state.py
  tests/test_pydantic.py
  tests/test_retry.py
  tests/test_config_async.py
  tests/test_subgraph_detection.py
  tests/test_subgraph_persistence.py
  tests/test_subgraph_persistence_async.py
  tests/test_time_travel.py
  tests/test_time_travel_async.py
  tests/test_pregel_stream_events_v3.py
  tests/test_stream_before_builtins.py
  tests/test_stream_data_transformers.py
  tests/test_stream_events_v3.py
  tests/test_stream_events_v3_e2e.py
  tests/test_stream_events_v3_kwarg_forwarding.py
  tests/test_stream_lifecycle_transformer.py
  tests/test_stream_messages_transformer.py
  tests/test_stream_namespaces.py
  tests/test_stream_subgraph_transformer.py
  tests/test_tool_stream_handler.py
)

# What LangGraph's sdist lists in its `test` dependency group and these files import. Left out:
# the PostgreSQL and Redis fixtures (NO_DOCKER=true), and tools (pytest-watcher, py-spy, pyperf,
# pytest-cov, pytest-xdist) that no test imports.
TEST_DEPS=(syrupy pytest-mock pytest-repeat pytest-dotenv pycryptodome pytest-timeout
  langgraph-checkpoint-sqlite redis "psycopg[binary]")

# LangGraph's test dependencies (and its pytest plugins) go into a venv of the gate's own, built
# with uv from this checkout, so the project's venv and its test run stay as they were.
uv=${UV:-$(command -v uv || echo .venv/bin/uv)}
gate_venv=${GATE_VENV:-.ci/cache/gate-venv}
if [ ! -x "$gate_venv/bin/python" ]; then
  "$uv" venv --quiet --python "$(command -v python)" "$gate_venv"
fi
echo "== the gate's venv: this checkout and LangGraph's test dependencies"
"$uv" pip install --quiet --python "$gate_venv/bin/python" -e ".[all]" --group test "${TEST_DEPS[@]}"
py="$gate_venv/bin/python"

version=$("$py" -c 'import importlib.metadata as m; print(m.version("langgraph"))')
cache=.ci/cache/langgraph
sdist="$cache/langgraph-$version"
if [ ! -d "$sdist/tests" ]; then
  mkdir -p "$cache"
  if [ ! -f "$cache/langgraph-$version.tar.gz" ]; then
    echo "== downloading the langgraph $version sdist"
    python -m pip download -q --no-deps --no-binary :all: "langgraph==$version" -d "$cache"
  fi
  tar -xzf "$cache/langgraph-$version.tar.gz" -C "$cache" "langgraph-$version/tests" \
    "langgraph-$version/pyproject.toml"
fi

extra=()
for arg in "$@"; do extra+=("--pytest-arg=$arg"); done

echo "== running LangGraph $version's tests per mode"
exec "$py" tests/langgraph_gate/compare.py --sdist "$sdist" --out .ci/cache/langgraph-gate \
  --modes "${GATE_MODES:-plain,run_tier,parallel_node}" --jobs "${GATE_JOBS:-1}" \
  "${extra[@]}" "${FILES[@]}"
