"""Customers, their sites, assets and contracts: the rules for creating and
changing them. Plain functions over a session; never commit."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from server.customers.models import Asset, Customer, ServiceContract, Site
from server.db import utcnow
from server.exceptions import InvalidInput
from server.records import ensure_unique, field_error, flush_or_conflict, referenced, update_record


def _new_id(data: dict, model, session: Session):
    record_id = data.pop("id", None) or uuid.uuid4()
    ensure_unique(session, model.id, record_id, field="id")
    return record_id


def create_customer(session: Session, data: dict) -> Customer:
    customer = Customer(id=_new_id(data, Customer, session), **data)
    session.add(customer)
    flush_or_conflict(session, "the customer could not be saved")
    return customer


def update_customer(session: Session, customer: Customer, data: dict) -> Customer:
    update_record(customer, data)
    return customer


def _check_coordinates(latitude, longitude) -> None:
    if (latitude is None) != (longitude is None):
        raise InvalidInput("latitude and longitude go together", code="invalid",
                           details=field_error("latitude" if latitude is None else "longitude",
                                               "Give both latitude and longitude, or neither."))


def create_site(session: Session, data: dict) -> Site:
    referenced(session, Customer, data["customer_id"], "customer_id", "customer")
    _check_coordinates(data.get("latitude"), data.get("longitude"))
    site = Site(id=_new_id(data, Site, session), **data)
    session.add(site)
    flush_or_conflict(session, "the site could not be saved")
    return site


def update_site(session: Session, site: Site, data: dict) -> Site:
    _check_coordinates(data.get("latitude", site.latitude), data.get("longitude", site.longitude))
    update_record(site, data)
    return site


def _check_warranty(install_date, warranty_end) -> None:
    if install_date and warranty_end and warranty_end < install_date:
        raise InvalidInput("the warranty cannot end before the installation",
                           details=field_error("warranty_end", "Must not be before install_date."))


def create_asset(session: Session, data: dict) -> Asset:
    referenced(session, Site, data["site_id"], "site_id", "site")
    ensure_unique(session, Asset.serial_number, data["serial_number"], field="serial_number")
    _check_warranty(data.get("install_date"), data.get("warranty_end"))
    asset = Asset(id=_new_id(data, Asset, session), **data)
    session.add(asset)
    flush_or_conflict(session, "the asset could not be saved")
    _schedule_return_visits(session, asset)
    return asset


def _schedule_return_visits(session: Session, asset: Asset) -> None:
    # The return-visit calls follow the installation date (server/quality/return_visits.py).
    from server.quality.return_visits import schedule_asset

    schedule_asset(session, asset, today=utcnow().date())


def update_asset(session: Session, asset: Asset, data: dict) -> Asset:
    if "site_id" in data:
        referenced(session, Site, data["site_id"], "site_id", "site")
    if "serial_number" in data:
        ensure_unique(session, Asset.serial_number, data["serial_number"], field="serial_number",
                      exclude_id=asset.id)
    _check_warranty(data.get("install_date", asset.install_date), data.get("warranty_end", asset.warranty_end))
    moved = "install_date" in data and data["install_date"] != asset.install_date
    update_record(asset, data)
    flush_or_conflict(session, "the asset could not be saved")
    if moved:
        _schedule_return_visits(session, asset)
    return asset


def _check_contract(starts_on, ends_on, response, on_site, resolve) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("a contract cannot end before it starts",
                           details=field_error("ends_on", "Must not be before starts_on."))
    if not response <= on_site <= resolve:
        raise InvalidInput("the clocks must run in order: response, then on site, then resolved",
                           details=field_error("on_site_hours",
                                               "Need response_hours <= on_site_hours <= resolve_hours."))


def create_contract(session: Session, data: dict) -> ServiceContract:
    referenced(session, Customer, data["customer_id"], "customer_id", "customer")
    _check_contract(data["starts_on"], data.get("ends_on"), data["response_hours"], data["on_site_hours"],
                    data["resolve_hours"])
    contract = ServiceContract(id=_new_id(data, ServiceContract, session), **data)
    session.add(contract)
    flush_or_conflict(session, "the contract could not be saved")
    return contract


def update_contract(session: Session, contract: ServiceContract, data: dict) -> ServiceContract:
    merged = {name: data.get(name, getattr(contract, name))
              for name in ("starts_on", "ends_on", "response_hours", "on_site_hours", "resolve_hours")}
    _check_contract(**{"response": merged["response_hours"], "on_site": merged["on_site_hours"],
                       "resolve": merged["resolve_hours"], "starts_on": merged["starts_on"],
                       "ends_on": merged["ends_on"]})
    update_record(contract, data)
    return contract


def completed_visits(*where):
    """Completed jobs (any technician's) of the tickets ``where`` picks: the
    visits an asset (or a customer) had. A statement for the one pagination
    scheme, or to read whole; its tickets and technicians come in one query each."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from server.jobs.models import Job, JobStatus
    from server.tickets.models import Ticket

    return (select(Job).join(Ticket, Ticket.id == Job.ticket_id)
            .where(*where, Job.status == JobStatus.completed, Job.completed_at.is_not(None))
            .options(selectinload(Job.ticket), selectinload(Job.technician)))


def asset_visits(asset_id: uuid.UUID):
    """The asset's completed jobs (any technician's): its earlier visits. A
    statement for the one pagination scheme (ordered by completion time)."""
    from server.tickets.models import Ticket

    return completed_visits(Ticket.asset_id == asset_id)
