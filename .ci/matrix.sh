#!/usr/bin/env bash
# The fast suite (-m "not slow") in fresh venvs built with uv:
#   lowest   the lowest version of every direct dependency (core, all extras, the test group)
#   3.12     Python 3.12, newest dependencies
#   3.13     Python 3.13, newest dependencies
# Each venv gets every extra and the test and dashboard groups (the fast suite checks the
# generated Grafana dashboard).
# Usage: .ci/matrix.sh [lowest] [3.12] [3.13]   (no argument: all three)
# Needs uv (the tools dependency group). A Python that cannot be found skips its step, and under
# CI=true fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_COMPILE_BYTECODE=1  # as .ci/run says why: pip's bytecode, for uv's installs

uv=${UV:-$(command -v uv || echo .venv/bin/uv)}
if ! "$uv" --version >/dev/null 2>&1; then
  echo "uv not found: pip install -e '.[all]' --group dev (uv is in the tools group)" >&2
  exit 1
fi
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(lowest 3.12 3.13)
failed=()  # every step runs; the script fails at the end if any did
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

in_ci() { case "${CI:-}" in true|1|yes) return 0 ;; *) return 1 ;; esac; }

# find_python 3.12: a python3.12 that runs. PATH first (a pyenv shim there may point at a version
# that is not selected, so each candidate is tried), then pyenv's own versions folder.
find_python() {
  local want=$1 candidate
  local candidates=()
  candidate=$(command -v "python$want" 2>/dev/null) && candidates+=("$candidate")
  if command -v pyenv >/dev/null 2>&1; then
    candidate=$(pyenv which "python$want" 2>/dev/null) && candidates+=("$candidate")
    while IFS= read -r candidate; do
      candidates+=("$candidate")
    done < <(ls -d "$(pyenv root)/versions/$want".*/bin/python"$want" 2>/dev/null | sort -rV)
  fi
  for candidate in "${candidates[@]}"; do
    if "$candidate" -c "import sys; assert sys.version.startswith('$want.')" >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# fast_suite NAME PYTHON [uv pip install options...]
fast_suite() {
  local name=$1 python=$2; shift 2
  local venv="$work/$name" start=$SECONDS
  printf '\n== fast suite: %s (%s)\n' "$name" "$("$python" -V 2>&1)"
  "$uv" venv --quiet --python "$python" "$venv"
  "$uv" pip install --quiet --python "$venv/bin/python" "$@" -e ".[all]" \
    --group test --group dashboard
  # See .ci/run: the checkout's modules as bytecode for this Python, as pip would leave them.
  "$venv/bin/python" -m compileall -q parallel_nodes tests benchmarks >/dev/null
  if "$venv/bin/python" -m pytest -q -m "not slow" -p no:cacheprovider; then
    printf '== %s: passed in %d s\n' "$name" $((SECONDS - start))
  else
    printf '== %s: FAILED in %d s\n' "$name" $((SECONDS - start))
    failed+=("$name")
  fi
}

for step in "${steps[@]}"; do
  case $step in
    lowest)
      fast_suite lowest "$(find_python 3.11 || command -v python3)" --resolution lowest-direct
      ;;
    3.*)
      if python=$(find_python "$step"); then
        fast_suite "$step" "$python"
      elif in_ci; then
        echo "Python $step not found (PATH, pyenv); CI=true needs it: pyenv install $step" >&2
        exit 1
      else
        echo "Python $step not found (PATH, pyenv): skipped" >&2
      fi
      ;;
    *)
      echo "unknown step: $step (lowest, 3.12, 3.13)" >&2
      exit 2
      ;;
  esac
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fast suite failed: ${failed[*]}" >&2
  exit 1
fi
