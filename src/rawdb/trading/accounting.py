"""Average-cost position accounting in exact integers (pure: no database).

A position holds a signed quantity ``q`` (``*_e8``), the signed gross cost ``c`` of that open
quantity (minor units, same sign as ``q``; a short's is the proceeds received, negated) and
the realized P&L. A fill of signed quantity ``d`` (buy > 0, sell < 0) with gross amount ``g``
has the signed value ``t`` (``+g`` for a buy, ``-g`` for a sell) and costs ``k`` (commission
plus fees):

- opening or adding (``q == 0`` or ``d`` has the sign of ``q``): ``c += t``;
- reducing or closing (``|d| <= |q|``): the closed share of the cost, ``c * |d| / |q|``, leaves
  the basis and ``-t`` less that share is realized;
- flipping (``|d| > |q|``): the closing part ``|q|`` of the fill realizes against all of ``c``,
  the rest opens the new position at its share of ``t``;
- always: ``k`` is charged to realized P&L.

A share that is not a whole minor unit is rounded half to even and the rounding stays in the
remaining basis, so nothing is lost: once a position is flat, the sum of its realized P&L is
exactly what was received less what was paid.
"""

from __future__ import annotations

from dataclasses import dataclass

from rawdb.trading.units import round_div


@dataclass(frozen=True, slots=True)
class Book:
    """The integer state of one position."""

    quantity_e8: int
    cost_basis_minor: int
    realized_pnl_minor: int


FLAT = Book(0, 0, 0)


def apply_fill(book: Book, signed_quantity_e8: int, gross_minor: int, costs_minor: int) -> Book:
    """The position after one fill (``signed_quantity_e8`` > 0 buys, < 0 sells)."""
    if signed_quantity_e8 == 0:
        raise ValueError("a fill has a non-zero quantity")
    if gross_minor < 0 or costs_minor < 0:
        raise ValueError("gross amount and costs are non-negative")
    q, c = book.quantity_e8, book.cost_basis_minor
    d = signed_quantity_e8
    t = gross_minor if d > 0 else -gross_minor
    realized = book.realized_pnl_minor - costs_minor
    if q == 0 or (q > 0) == (d > 0):
        return Book(q + d, c + t, realized)
    if abs(d) <= abs(q):
        closed_cost = round_div(c * abs(d), abs(q))
        return Book(q + d, c - closed_cost, realized - t - closed_cost)
    closing_value = round_div(t * abs(q), abs(d))
    return Book(q + d, t - closing_value, realized - closing_value - c)
