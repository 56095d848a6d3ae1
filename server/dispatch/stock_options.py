"""Where to get what a ticket needs: the nearest stock locations (warehouses,
service stations, vans) holding a part, or an available spare unit of a model.

Quantities come from the stock ledger's projection (``server.stock.ledger``):
available = on hand − reserved. Warranty repairs have first claim on scarce
stock: a repair outside warranty may not take a location's last
``warranty_holdback`` units of a part (what it may take is ``claimable``; the
rest is ``held_for_warranty``), and :mod:`server.dispatch.assign` enforces the
same rule when it reserves.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import Session

from server.dispatch.ranking import Need, TicketContext
from server.dispatch.settings import DispatchSettings
from server.dispatch.spatial import STOCK_LOCATIONS, SpatialIndex, index_for
from server.exceptions import InvalidInput, NotFound
from server.stock import ledger
from server.stock.models import Part, SpareUnit, SpareUnitStatus, StockLevel, StockLocation
from sync.memory import no_cyclic_gc


@dataclass
class StockOption:
    location_id: uuid.UUID
    code: str
    name: str
    kind: str
    latitude: float
    longitude: float
    distance_km: float
    transfer_hours: float
    on_hand: int
    reserved: int
    available: int
    claimable: int
    held_for_warranty: int
    sufficient: bool
    spare_units: list[dict] = field(default_factory=list)
    rank: int = 0


@dataclass
class NeedOptions:
    need: Need
    options: list[StockOption]


def resolve_needs(session: Session, context: TicketContext, *, part_number: str | None = None,
                  model: str | None = None, quantity: int | None = None) -> list[Need]:
    """What to look for: the part or model asked for, else what the ticket needs,
    else a spare unit of the asset's model."""
    if part_number:
        part = session.scalar(select(Part).where(Part.part_number == part_number))
        if part is None:
            raise NotFound("no such part number", code="unknown_part",
                           details={"fields": {"query": {"part_number": ["Unknown part number."]}}})
        listed = next((n for n in context.needs if n.part_id == part.id), None)
        wanted = quantity or (listed.quantity if listed else 1)
        return [Need("part", str(part.id), part.part_number, wanted, part.id)]
    if model:
        return [Need("spare_unit", model, model, 1)]
    if context.needs:
        return list(context.needs)
    if context.asset_model is not None:
        return [Need("spare_unit", context.asset_model, context.asset_model, 1)]
    raise InvalidInput("the ticket names no parts and no asset: ask for a part_number or a model",
                       code="nothing_to_look_for")


def stock_options(session: Session, context: TicketContext, needs: list[Need], *, settings: DispatchSettings,
                  limit: int | None = None, index: SpatialIndex | None = None) -> list[NeedOptions]:
    index = index or index_for(session, start_radius_m=settings.search_start_km * 1000)
    limit = limit or settings.stock_options_limit
    with no_cyclic_gc():  # as find_candidates: short-lived, cycle-free objects
        return [NeedOptions(need, _options_for(session, context, need, settings, limit, index)) for need in needs]


# Built once, values bound per call: the spatial index keeps one prepared statement per condition.
_HOLDING_PART = exists().where(StockLevel.location_id == StockLocation.id,
                               StockLevel.part_id == bindparam("stock_part_id"),
                               StockLevel.on_hand - StockLevel.reserved > 0)
_HOLDING_UNIT = exists().where(SpareUnit.location_id == StockLocation.id, SpareUnit.model == bindparam("stock_model"),
                               SpareUnit.status == SpareUnitStatus.available)


def _options_for(session, context, need: Need, settings, limit, index) -> list[StockOption]:
    if need.kind == "part":
        holding, params = _HOLDING_PART, {"stock_part_id": need.part_id}
    else:
        holding, params = _HOLDING_UNIT, {"stock_model": need.key}
    found = index.nearest(session, STOCK_LOCATIONS, context.latitude, context.longitude, limit, where=holding,
                          params=params)
    if not found:
        return []
    ids = [n.id for n in found]
    locations = {loc.id: loc for loc in session.scalars(select(StockLocation).where(StockLocation.id.in_(ids)))}
    units: dict[uuid.UUID, list[SpareUnit]] = {i: [] for i in ids}
    if need.kind == "part":
        levels = ledger.quantities(session, need.part_id, ids)
    else:
        for unit in session.scalars(select(SpareUnit).where(SpareUnit.location_id.in_(ids),
                                                            SpareUnit.model == need.key,
                                                            SpareUnit.status == SpareUnitStatus.available)
                                    .order_by(SpareUnit.serial_number)):
            units[unit.location_id].append(unit)
        levels = {i: ledger.Quantity(len(units[i]), 0) for i in ids}
    options = []
    for n in found:
        loc = locations[n.id]
        level = levels.get(n.id, ledger.Quantity(0, 0))
        available = max(level.available, 0)
        holdback = 0 if (context.under_warranty or need.kind != "part") else settings.warranty_holdback
        claimable = max(available - holdback, 0)
        kind = loc.kind.value
        transfer = (n.distance_km * settings.road_factor / settings.transfer_speed_kmh
                    + settings.handling_hours.get(kind, 0.0))
        options.append(StockOption(
            location_id=loc.id, code=loc.code, name=loc.name, kind=kind, latitude=loc.latitude,
            longitude=loc.longitude, distance_km=round(n.distance_km, 3), transfer_hours=round(transfer, 2),
            on_hand=level.on_hand, reserved=level.reserved, available=available, claimable=claimable,
            held_for_warranty=available - claimable, sufficient=claimable >= need.quantity,
            spare_units=[{"id": u.id, "serial_number": u.serial_number} for u in units.get(n.id, [])]))
    # Enough of it first, then the quickest to bring, then the nearest.
    options.sort(key=lambda o: (not o.sufficient, o.claimable == 0, o.transfer_hours, o.distance_km,
                                str(o.location_id)))
    for rank, option in enumerate(options, start=1):
        option.rank = rank
    return options


def count_available_units(session: Session, location_id: uuid.UUID, model: str) -> int:
    return session.scalar(select(func.count()).select_from(SpareUnit).where(
        SpareUnit.location_id == location_id, SpareUnit.model == model,
        SpareUnit.status == SpareUnitStatus.available)) or 0
