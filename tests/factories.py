"""Test data built with the real models; each returns the committed object."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, time, timedelta

from server.accounts.models import Role, User
from server.accounts.passwords import hash_password
from server.customers.models import Asset, Customer, ServiceContract, Site
from server.db import utcnow
from server.extensions import db
from server.jobs.models import Job, JobStatus
from server.stock.models import LocationKind, Part, PartFitment, SpareUnit, StockLocation
from server.technicians.models import Certification, ShiftSlot, Technician
from server.tickets.models import Ticket, TicketStatus

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
_FAST_HASH = hash_password(PASSWORD, "fast")


def _n() -> int:
    return next(_counter)


def _save(obj):
    db.session.add(obj)
    db.session.commit()
    return obj


def user(role: Role = Role.dispatcher, username: str | None = None, **kwargs) -> User:
    username = username or f"{role.value}{_n()}"
    return _save(User(username=username, display_name=kwargs.pop("display_name", username),
                      password_hash=_FAST_HASH, role=role, **kwargs))


def location(kind: LocationKind = LocationKind.regional_warehouse, latitude=31.23, longitude=121.47, **kwargs):
    n = _n()
    return _save(StockLocation(code=kwargs.pop("code", f"LOC{n}"), name=kwargs.pop("name", f"Location {n}"),
                               kind=kind, latitude=latitude, longitude=longitude, **kwargs))


def technician(username: str | None = None, *, latitude=31.23, longitude=121.47, product_lines=("chiller",),
               with_van=True, **kwargs) -> Technician:
    account = user(Role.technician, username=username)
    van = location(LocationKind.van, latitude, longitude) if with_van else None
    tech = Technician(user_id=account.id, name=kwargs.pop("name", account.username),
                      home_latitude=latitude, home_longitude=longitude,
                      van_location_id=van.id if van else None, **kwargs)
    today = date.today()
    for line in product_lines:
        tech.certifications.append(Certification(product_line=line, certified_on=today - timedelta(days=365),
                                                 expires_on=today + timedelta(days=365)))
    for weekday in range(7):
        tech.shifts.append(ShiftSlot(weekday=weekday, starts=time(0, 0), ends=time(23, 59)))
    return _save(tech)


def customer(name: str | None = None, **kwargs) -> Customer:
    return _save(Customer(name=name or f"Customer {_n()}", **kwargs))


def site(cust: Customer | None = None, latitude=31.2304, longitude=121.4737, **kwargs) -> Site:
    cust = cust or customer()
    return _save(Site(customer_id=cust.id, name=kwargs.pop("name", f"Site {_n()}"),
                      address=kwargs.pop("address", "1 Test Road"), latitude=latitude, longitude=longitude, **kwargs))


def asset(st: Site | None = None, product_line="chiller", model="CH-200", warranty_end=None, **kwargs) -> Asset:
    st = st or site()
    return _save(Asset(site_id=st.id, product_line=product_line, model=model,
                       serial_number=kwargs.pop("serial_number", f"SN{_n():06d}"),
                       warranty_end=warranty_end, **kwargs))


def contract(cust: Customer, *, response=1, on_site=8, resolve=24, starts_on=None, ends_on=None) -> ServiceContract:
    starts_on = starts_on or date.today() - timedelta(days=30)
    return _save(ServiceContract(customer_id=cust.id, name="Gold", starts_on=starts_on,
                                 ends_on=ends_on, response_hours=response, on_site_hours=on_site,
                                 resolve_hours=resolve))


def part(part_number: str | None = None, product_lines=("chiller",), **kwargs) -> Part:
    p = Part(part_number=part_number or f"P-{_n():05d}", name=kwargs.pop("name", "Compressor valve"), **kwargs)
    for line in product_lines:
        p.fits.append(PartFitment(product_line=line))
    return _save(p)


def spare_unit(loc: StockLocation, model="CH-200", product_line="chiller", **kwargs) -> SpareUnit:
    return _save(SpareUnit(model=model, product_line=product_line, location_id=loc.id,
                           serial_number=kwargs.pop("serial_number", f"SU{_n():06d}"), **kwargs))


def ticket(owner: User | None = None, st: Site | None = None, ast: Asset | None = None, **kwargs) -> Ticket:
    owner = owner or user(Role.dispatcher)
    ast = ast or asset(st)
    st = st or db.session.get(Site, ast.site_id)
    now = kwargs.pop("received_at", utcnow())
    return _save(Ticket(
        reference=f"T-{uuid.uuid4().hex[:10]}", customer_id=st.customer_id, site_id=st.id, asset_id=ast.id,
        channel=kwargs.pop("channel", "phone"), category=kwargs.pop("category", "repair"),
        priority=kwargs.pop("priority", "normal"), summary=kwargs.pop("summary", "Unit not cooling"),
        owner_id=owner.id, status=kwargs.pop("status", TicketStatus.new), received_at=now,
        response_due_at=now + timedelta(hours=2), on_site_due_at=now + timedelta(hours=24),
        resolve_due_at=now + timedelta(hours=72), **kwargs))


def job(tkt: Ticket | None = None, tech: Technician | None = None, **kwargs) -> Job:
    tkt = tkt or ticket()
    return _save(Job(ticket_id=tkt.id, technician_id=tech.id if tech else None,
                     status=kwargs.pop("status", JobStatus.assigned), **kwargs))


def login(client, username: str, password: str = PASSWORD, device_id: str | None = None) -> dict:
    """Log in through the real endpoint; returns the Authorization header."""
    body = {"username": username, "password": password}
    if device_id:
        body["device_id"] = device_id
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 201, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def login_as(client, account_or_tech, device_id: str = "handheld-1") -> dict:
    if isinstance(account_or_tech, Technician):
        username = db.session.get(User, account_or_tech.user_id).username
        return login(client, username, device_id=device_id)
    return login(client, account_or_tech.username)
