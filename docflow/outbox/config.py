"""How the outbox relay retries: attempts, back-off, the sweep.

Read from ``OUTBOX_*`` environment variables (or ``Settings.extra`` with the
same names, which wins, for tests that build the app in-process). The defaults
suit production; the fault tests shrink them to seconds.

====================================  =========  ==================================
``OUTBOX_MAX_ATTEMPTS``               8          attempts before a row is failed
``OUTBOX_BACKOFF_SECONDS``            30         first retry delay, doubled each time
``OUTBOX_MAX_BACKOFF_SECONDS``        7200       cap of the delay
``OUTBOX_SWEEP_GRACE_SECONDS``        120        how late a relay may be before the
                                                 sweep re-queues it
``OUTBOX_SWEEP_INTERVAL_SECONDS``     60         the Celery beat period of the sweep
====================================  =========  ==================================
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from docflow.config import ConfigError

if TYPE_CHECKING:
    from docflow.config import Settings

# A retry further away than this is not handed to the broker as a countdown:
# Redis redelivers an unacknowledged ETA task after its visibility timeout (one
# hour by default) and a worker keeps every ETA task in memory. The sweep picks
# such rows up when they are due.
MAX_COUNTDOWN = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class OutboxPolicy:
    """Retry and sweep parameters of the outbox relay."""

    max_attempts: int = 8
    backoff: dt.timedelta = dt.timedelta(seconds=30)
    max_backoff: dt.timedelta = dt.timedelta(hours=2)
    sweep_grace: dt.timedelta = dt.timedelta(minutes=2)
    sweep_interval: dt.timedelta = dt.timedelta(seconds=60)

    def delay(self, attempts: int) -> dt.timedelta:
        """Exponential back-off after the ``attempts``-th failure: 30 s, 1 min,
        2 min, ... capped at :attr:`max_backoff`."""
        # The exponent is capped: timedelta overflows long before 2**64.
        return min(
            self.backoff * (1 << min(max(attempts - 1, 0), 32)), self.max_backoff
        )

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, object] | None = None,
    ) -> OutboxPolicy:
        """Read the ``OUTBOX_*`` variables.

        :raises ConfigError: a value that is not a positive number.
        """
        env = os.environ if environ is None else environ
        given = overrides or {}

        def raw(name: str) -> str | None:
            value = given.get(name, env.get(name))
            return None if value is None or value == "" else str(value)

        def seconds(name: str, default: dt.timedelta) -> dt.timedelta:
            value = raw(name)
            if value is None:
                return default
            try:
                number = float(value)
            except ValueError:
                raise ConfigError(f"{name}={value!r}: expected seconds") from None
            if not number > 0:
                raise ConfigError(f"{name}={value!r}: must be positive")
            return dt.timedelta(seconds=number)

        attempts = raw("OUTBOX_MAX_ATTEMPTS")
        if attempts is not None and not (attempts.isdigit() and int(attempts) >= 1):
            raise ConfigError(
                f"OUTBOX_MAX_ATTEMPTS={attempts!r}: expected a positive integer"
            )
        policy = cls(
            max_attempts=int(attempts) if attempts else cls.max_attempts,
            backoff=seconds("OUTBOX_BACKOFF_SECONDS", cls.backoff),
            max_backoff=seconds("OUTBOX_MAX_BACKOFF_SECONDS", cls.max_backoff),
            sweep_grace=seconds("OUTBOX_SWEEP_GRACE_SECONDS", cls.sweep_grace),
            sweep_interval=seconds("OUTBOX_SWEEP_INTERVAL_SECONDS", cls.sweep_interval),
        )
        if policy.max_backoff < policy.backoff:
            raise ConfigError(
                "OUTBOX_MAX_BACKOFF_SECONDS must not be below OUTBOX_BACKOFF_SECONDS"
            )
        return policy

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        return cls.from_env(overrides=settings.extra)


DEFAULT_POLICY = OutboxPolicy()
