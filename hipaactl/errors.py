"""The one error root. Every expected failure is a HipaactlError a user can act on."""

from __future__ import annotations

from dataclasses import dataclass


class HipaactlError(Exception):
    """An expected failure: the message says what, where and what to do."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class UsageError(HipaactlError):
    """A bad flag, argument or combination of them."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located by key path and, for syntax, line and column."""

    file: str
    key: str
    message: str
    line: int | None = None
    column: int | None = None

    def render(self) -> str:
        """One line ``file[:line[:column]]: key: message``, as printed under a ConfigError."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.key}:" if self.key else ""
        return f"{where}:{key} {self.message}"


class ConfigError(HipaactlError):
    """The config file (or a file it names) is unreadable or invalid; lists every issue."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        heading = f"{count} error{'s' if count != 1 else ''} in configuration"
        super().__init__("\n".join([heading, *("  " + i.render() for i in self.issues)]))


class PolicyPackError(HipaactlError):
    """A policy pack is missing, malformed, or collides with another pack."""


class ProviderError(HipaactlError):
    """The provider (CTM API or sandbox) failed; never carries credentials."""

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        endpoint: str | None = None,
        hint: str | None = None,
        unexposed: bool = False,
    ) -> None:
        self.status = status
        self.endpoint = endpoint
        self.reason = reason
        # A 404 from an inferred endpoint: the API does not expose what was asked, which
        # a person may attest (SPEC section 7); any other failure is a read that failed.
        self.unexposed = unexposed
        parts = [p for p in (endpoint, f"HTTP {status}" if status else None) if p]
        prefix = f"{' '.join(parts)}: " if parts else ""
        super().__init__(f"{prefix}{reason}", hint=hint)


class UncertainWriteError(ProviderError):
    """A write was sent but no reply confirmed it: it may or may not have taken effect.
    A create is re-read before it is retried; any other write is reported ``unknown``."""


class AuthenticationError(ProviderError):
    """Credentials missing or refused."""


class StateReadError(HipaactlError):
    """Some live state could not be read; never reported as compliant or as no changes."""


class PlanFileError(HipaactlError):
    """A saved plan is unreadable, of another version, or does not match its inputs."""


class StalePlanError(PlanFileError):
    """Live state or config changed since the plan was saved."""


class UnsafePlanError(HipaactlError):
    """The plan weakens security and --force was not given."""


class LockError(HipaactlError):
    """Another apply holds the working directory's lock."""


class AuditLogError(HipaactlError):
    """The change log is broken, edited or truncated."""


class ApplyFailedError(HipaactlError):
    """Some planned changes were not applied (failed, skipped, not started or unknown)."""


class GateFailedError(HipaactlError):
    """A mandatory rule failed on the declared desired state."""

    exit_code = 3


class Interrupted(KeyboardInterrupt):
    """SIGINT (and SIGTERM during apply) as hipaactl's own signal handlers raise it.

    Every ``except KeyboardInterrupt`` catches it, but it is not a plain
    ``KeyboardInterrupt``, and that matters: when an exception of exactly that type
    leaves an ``exec()``/``eval()`` of a string (dataclasses and namedtuple build their
    methods that way as a module is first imported), CPython sets a process-wide
    "unhandled KeyboardInterrupt" flag, caught or not; a ``python -m hipaactl`` run
    that ends with the flag still set kills itself with SIGINT (exit status -2, 130 in
    a shell) after reporting the interrupt and choosing exit 1. CPython 3.11:
    Python/pythonrun.c ``run_eval_code_obj`` sets the flag, Modules/main.c
    ``Py_RunMain`` acts on it; the type is compared by identity, so a subclass never
    sets it.
    """
