"""Stock locations, parts and spare units (the catalogue) on the wire.
Quantities and movements belong to the stock ledger's API (/api/v1/stock/...)."""

from marshmallow import fields, validate

from schemas.base import BaseSchema, PageArgsSchema, page_of
from schemas.common import EnumOf, Latitude, Longitude, RecordSchema, patch_of, text
from server.stock.models import LocationKind, SpareUnitStatus

# ---- stock locations ----


class LocationCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,32}$"),
                         metadata={"description": "Short unique code, e.g. WH-SH-01."})
    name = text(200, required=True)
    kind = fields.Enum(LocationKind, by_value=True, required=True,
                       metadata={"description": "一级 / 二级备件仓库, 服务站点, or a technician's van."})
    address = text(2000, allow_none=True)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)


LocationUpdateSchema = patch_of(LocationCreateSchema, "LocationUpdateSchema", exclude=("id", "kind"))


class LocationSchema(LocationCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)


class LocationQuerySchema(PageArgsSchema):
    kind = fields.List(fields.Enum(LocationKind, by_value=True))
    q = text(100, metadata={"description": "Search in code, name and address."})


LocationPageSchema = page_of(LocationSchema, "LocationPage")

# ---- parts ----


class PartCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    part_number = fields.String(required=True, validate=validate.Regexp(r"^\S(.{0,62}\S)?$"),
                                metadata={"description": "Unique; no leading or trailing blanks."})
    name = text(200, required=True)
    unit = text(16, load_default="pcs")
    serialised = fields.Boolean(load_default=False, metadata={"description": "Tracked by serial number."})
    unit_cost = fields.Float(allow_none=True, validate=validate.Range(min=0), allow_nan=False)
    product_lines = fields.List(text(64), load_default=list, validate=validate.Length(max=100),
                                metadata={"description": "The product lines this part fits."})


PartUpdateSchema = patch_of(PartCreateSchema, "PartUpdateSchema", exclude=("id",))


class PartSchema(PartCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)


class PartQuerySchema(PageArgsSchema):
    q = text(100, metadata={"description": "Search in part number and name."})
    product_line = text(64, metadata={"description": "Parts that fit this product line."})
    serialised = fields.Boolean()


PartPageSchema = page_of(PartSchema, "PartPage")

# ---- spare units ----

# What the catalogue may set by hand; reserved and loaned follow reservations and swaps.
SETTABLE_SPARE_STATUSES = (SpareUnitStatus.available, SpareUnitStatus.defective, SpareUnitStatus.in_repair)


class SpareUnitCreateSchema(BaseSchema):
    id = fields.UUID(metadata={"description": "Optional client-made id."})
    model = text(64, required=True)
    product_line = text(64, required=True)
    serial_number = text(64, required=True)
    location_id = fields.UUID(required=True, metadata={"description": "Where the unit is kept (warehouse or van)."})
    status = EnumOf(SpareUnitStatus, SETTABLE_SPARE_STATUSES, load_default=SpareUnitStatus.available,
                    metadata={"description": "Set by hand: available, defective or in_repair; the others follow "
                                             "reservations, swaps and shipments."})


SpareUnitUpdateSchema = patch_of(SpareUnitCreateSchema, "SpareUnitUpdateSchema", exclude=("id", "location_id"))


class SpareUnitSchema(SpareUnitCreateSchema, RecordSchema):
    id = fields.UUID(dump_only=True)
    status = fields.Enum(SpareUnitStatus, by_value=True)
    location_id = fields.UUID(allow_none=True)
    site_id = fields.UUID(dump_only=True, allow_none=True,
                          metadata={"description": "The customer's site while the unit is loaned out."})


class SpareUnitQuerySchema(PageArgsSchema):
    model = text(64)
    product_line = text(64)
    serial_number = text(64)
    location_id = fields.UUID()
    status = fields.List(fields.Enum(SpareUnitStatus, by_value=True))


SpareUnitPageSchema = page_of(SpareUnitSchema, "SpareUnitPage")
