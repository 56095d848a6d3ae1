"""The stock catalogue: locations, parts and spare units. Quantities,
movements and reservations are the stock ledger's API (/api/v1/stock/...)."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.catalogue import (
    LocationCreateSchema,
    LocationPageSchema,
    LocationQuerySchema,
    LocationSchema,
    LocationUpdateSchema,
    PartCreateSchema,
    PartPageSchema,
    PartQuerySchema,
    PartSchema,
    PartUpdateSchema,
    SpareUnitCreateSchema,
    SpareUnitPageSchema,
    SpareUnitQuerySchema,
    SpareUnitSchema,
    SpareUnitUpdateSchema,
)
from server.access import scope_locations, scope_spare_units
from server.accounts.models import Role
from server.api.lookup import like, visible_or_404
from server.api.security import current_principal, requires
from server.db import utcnow
from server.extensions import db
from server.pagination import paginate
from server.stock import catalogue
from server.stock.models import Part, PartFitment, SpareUnit, StockLocation

blp = Blueprint("catalogue", __name__, url_prefix="/api/v1",
                description="Stock catalogue: locations, parts and spare units")

READERS = (Role.admin, Role.dispatcher, Role.warehouse, Role.technician)
EDITORS = (Role.admin, Role.warehouse)


def _ilike(column, value):
    return column.ilike(like(value), escape="\\")


@blp.route("/locations")
class Locations(MethodView):
    @requires(*READERS)
    @blp.arguments(LocationQuerySchema, location="query")
    @blp.response(200, LocationPageSchema)
    def get(self, args):
        """List stock locations by code; a technician sees warehouses, stations and their own van."""
        stmt = scope_locations(select(StockLocation), current_principal())
        if args.get("kind"):
            stmt = stmt.where(StockLocation.kind.in_(args["kind"]))
        if "q" in args:
            stmt = stmt.where(or_(_ilike(StockLocation.code, args["q"]), _ilike(StockLocation.name, args["q"]),
                                  _ilike(StockLocation.address, args["q"])))
        return paginate(db.session, stmt, order_by=[StockLocation.code, StockLocation.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(LocationCreateSchema)
    @blp.response(201, LocationSchema)
    def post(self, data):
        """Add a warehouse, service station or van."""
        location = catalogue.create_location(db.session, data)
        db.session.commit()
        return location


@blp.route("/locations/<uuid:location_id>")
class LocationById(MethodView):
    @requires(*READERS)
    @blp.response(200, LocationSchema)
    def get(self, location_id):
        """One stock location."""
        return visible_or_404(StockLocation, location_id, scope_locations, "stock location")

    @requires(*EDITORS)
    @blp.arguments(LocationUpdateSchema)
    @blp.response(200, LocationSchema)
    def patch(self, data, location_id):
        """Rename or move a stock location (its kind is fixed)."""
        location = visible_or_404(StockLocation, location_id, None, "stock location")
        catalogue.update_location(db.session, location, data)
        db.session.commit()
        return location

    @requires(*EDITORS)
    @blp.response(204)
    @blp.alt_response(409, description="In use: the ledger, a ticket, a job or a van refers to it.")
    def delete(self, location_id):
        """Delete a stock location entered by mistake (never one that anything refers to)."""
        location = visible_or_404(StockLocation, location_id, None, "stock location")
        catalogue.delete_unused(db.session, location, "stock location")
        db.session.commit()


@blp.route("/parts")
class Parts(MethodView):
    @requires(*READERS)
    @blp.arguments(PartQuerySchema, location="query")
    @blp.response(200, PartPageSchema)
    def get(self, args):
        """The parts catalogue, by part number."""
        stmt = select(Part).options(selectinload(Part.fits))
        if "q" in args:
            stmt = stmt.where(or_(_ilike(Part.part_number, args["q"]), _ilike(Part.name, args["q"])))
        if "product_line" in args:
            stmt = stmt.where(Part.id.in_(select(PartFitment.part_id).where(
                PartFitment.product_line == args["product_line"])))
        if "serialised" in args:
            stmt = stmt.where(Part.serialised.is_(args["serialised"]))
        return paginate(db.session, stmt, order_by=[Part.part_number, Part.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(PartCreateSchema)
    @blp.response(201, PartSchema)
    def post(self, data):
        """Add a part to the catalogue, with the product lines it fits."""
        part = catalogue.create_part(db.session, data)
        db.session.commit()
        return part


@blp.route("/parts/<uuid:part_id>")
class PartById(MethodView):
    @requires(*READERS)
    @blp.response(200, PartSchema)
    def get(self, part_id):
        """One part."""
        return visible_or_404(Part, part_id, None, "part")

    @requires(*EDITORS)
    @blp.arguments(PartUpdateSchema)
    @blp.response(200, PartSchema)
    def patch(self, data, part_id):
        """Change a part; ``product_lines`` given replaces the whole list."""
        part = visible_or_404(Part, part_id, None, "part")
        catalogue.update_part(db.session, part, data)
        db.session.commit()
        return part

    @requires(*EDITORS)
    @blp.response(204)
    @blp.alt_response(409, description="In use: the ledger, a ticket, a job or a van refers to it.")
    def delete(self, part_id):
        """Delete a part entered by mistake (never one that anything refers to)."""
        catalogue.delete_unused(db.session, visible_or_404(Part, part_id, None, "part"), "part")
        db.session.commit()


@blp.route("/spare-units")
class SpareUnits(MethodView):
    @requires(*READERS)
    @blp.arguments(SpareUnitQuerySchema, location="query")
    @blp.response(200, SpareUnitPageSchema)
    def get(self, args):
        """Spare (loaner) units, one by one (备用机); a technician sees those in their van."""
        stmt = scope_spare_units(select(SpareUnit), current_principal())
        for name in ("model", "product_line", "serial_number", "location_id"):
            if name in args:
                stmt = stmt.where(getattr(SpareUnit, name) == args[name])
        if args.get("status"):
            stmt = stmt.where(SpareUnit.status.in_(args["status"]))
        return paginate(db.session, stmt, order_by=[SpareUnit.serial_number, SpareUnit.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(SpareUnitCreateSchema)
    @blp.response(201, SpareUnitSchema)
    def post(self, data):
        """Register a spare unit at a location."""
        unit = catalogue.create_spare_unit(db.session, data, at=utcnow(), by_user_id=current_principal().user_id)
        db.session.commit()
        return unit


@blp.route("/spare-units/<uuid:spare_unit_id>")
class SpareUnitById(MethodView):
    @requires(*READERS)
    @blp.response(200, SpareUnitSchema)
    def get(self, spare_unit_id):
        """One spare unit."""
        return visible_or_404(SpareUnit, spare_unit_id, scope_spare_units, "spare unit")

    @requires(*EDITORS)
    @blp.arguments(SpareUnitUpdateSchema)
    @blp.response(200, SpareUnitSchema)
    def patch(self, data, spare_unit_id):
        """Correct a unit's details or mark it defective / in repair / available."""
        unit = visible_or_404(SpareUnit, spare_unit_id, None, "spare unit")
        catalogue.update_spare_unit(db.session, unit, data, at=utcnow(), by_user_id=current_principal().user_id)
        db.session.commit()
        return unit

    @requires(*EDITORS)
    @blp.response(204)
    @blp.alt_response(409, description="In use: the ledger, a ticket, a job or a van refers to it.")
    def delete(self, spare_unit_id):
        """Delete a spare unit entered by mistake (never one that anything refers to)."""
        unit = visible_or_404(SpareUnit, spare_unit_id, None, "spare unit")
        catalogue.delete_unused(db.session, unit, "spare unit")
        db.session.commit()
