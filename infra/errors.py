"""Error types that encode the failure policy of every stage."""

__all__ = ["MirError", "FatalError", "ShardError", "ConfigError", "InputError"]


class MirError(Exception):
    """Base class of every error the platform raises on purpose."""


class FatalError(MirError):
    """Aborts the whole run (missing toolchain, unwritable output folder)."""


class ShardError(MirError):
    """Fails one shard or task; the rest of the run goes on."""


class ConfigError(MirError):
    """Bad settings; the message lists every problem found, not just the first."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems) if len(self.problems) < 2
                         else "invalid configuration:\n  - " + "\n  - ".join(self.problems))


class InputError(MirError):
    """One input item is unusable; it becomes a manifest row with a reason, never a crash.

    Attributes:
        reason: a short machine-readable reason (``compile_error``, ``timeout``, ...).
    """

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)
