"""Errors of the trading functions that are not a database refusal."""

from __future__ import annotations

from rawdb.errors import UsageError


class UnknownOrder(UsageError):
    """No order has that id; nothing was written."""


class OrderStateError(UsageError):
    """The order's status (or remaining quantity) does not allow this; nothing was written."""


class CurrencyMismatch(UsageError):
    """A fill's currency differs from the position's; nothing was written."""


__all__ = ["CurrencyMismatch", "OrderStateError", "UnknownOrder"]
