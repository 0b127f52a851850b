"""How the ``parallel-nodes`` command fails: exit statuses, and one line that says what to fix.

Every failure a user can cause ends in one line on stderr (exit 2 for bad input, 1 for an
environment problem, 130 when interrupted); :func:`describe` writes that line.
"""

from __future__ import annotations

__all__ = [
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "Cancelled",
    "UserError",
    "describe",
]

EXIT_USAGE, EXIT_FAILURE, EXIT_INTERRUPTED = 2, 1, 130


class UserError(Exception):
    """A failure the user can fix: printed as one line, with ``code`` as the exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class Cancelled(Exception):
    """The user closed standard input at a prompt."""


_UNREACHABLE = ("ConnectionError", "ConnectError", "ConnectTimeout", "APITimeoutError")
"""Endings of the exception class names (ours, httpx's, the providers') of an endpoint that
did not answer: matched by name so no provider package needs importing."""


def _is_usage_error(exc: BaseException) -> bool:
    """Click's ``UsageError``, whether typer vendors click or depends on it."""
    return callable(getattr(exc, "format_message", None)) and getattr(exc, "exit_code", 0) == 2


def describe(exc: BaseException) -> tuple[str, int]:
    """One line saying what went wrong and how to fix it, and the exit status."""
    if isinstance(exc, UserError):
        return str(exc), exc.code
    if _is_usage_error(exc):
        ctx = getattr(exc, "ctx", None)
        command = getattr(ctx, "command_path", None) or "parallel-nodes"
        text = str(exc.format_message()).replace("Value error, ", "")  # type: ignore[attr-defined]
        return (f"{text} (see {command} --help)" if text else ""), EXIT_USAGE
    name = type(exc).__name__
    first = next(iter(str(exc).strip().splitlines()), "")
    if any(c.__name__.endswith(_UNREACHABLE) for c in type(exc).__mro__):
        return (
            f"cannot reach the model's endpoint ({name}: {first}); check its URL "
            "(e.g. OPENAI_BASE_URL) and the network, or use --model extractive-offline",
            EXIT_FAILURE,
        )
    if name in ("AuthenticationError", "PermissionDeniedError"):
        return (
            f"the model's provider refused the API key ({first}); check the key's variable "
            "(e.g. OPENAI_API_KEY)",
            EXIT_FAILURE,
        )
    return f"{name}: {first}; rerun with --debug for the traceback", EXIT_FAILURE
