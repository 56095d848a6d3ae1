"""Customers, their sites and assets, and service contracts."""

from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from schemas.base import PageArgsSchema
from schemas.customers import (
    AssetCreateSchema,
    AssetPageSchema,
    AssetQuerySchema,
    AssetSchema,
    AssetUpdateSchema,
    AssetVisitPageSchema,
    ContractCreateSchema,
    ContractPageSchema,
    ContractQuerySchema,
    ContractSchema,
    ContractUpdateSchema,
    CustomerCreateSchema,
    CustomerDetailSchema,
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerUpdateSchema,
    ServiceHistoryPageSchema,
    ServiceHistoryQuerySchema,
    SiteCreateSchema,
    SitePageSchema,
    SiteQuerySchema,
    SiteSchema,
    SiteUpdateSchema,
)
from server.access import scope_assets, scope_customers, scope_sites
from server.accounts.models import Role
from server.api.lookup import like, visible_or_404
from server.api.security import current_principal, requires
from server.customers import history, service
from server.customers.models import Asset, Customer, ServiceContract, Site
from server.extensions import db
from server.jobs.models import Job
from server.pagination import paginate
from server.tickets.models import Ticket

blp = Blueprint("customers", __name__, url_prefix="/api/v1", description="Customers, sites, assets and contracts")

READERS = (Role.admin, Role.dispatcher, Role.warehouse, Role.technician)
EDITORS = (Role.admin, Role.dispatcher)


@blp.route("/customers")
class Customers(MethodView):
    @requires(*READERS)
    @blp.arguments(CustomerQuerySchema, location="query")
    @blp.response(200, CustomerPageSchema)
    def get(self, args):
        """List customers by name, contact, phone, email or address (theirs or a site's); a technician sees only
        those of their jobs."""
        stmt = scope_customers(select(Customer), current_principal())
        if "q" in args:
            pattern = like(args["q"])
            at_site = select(Site.customer_id).where(or_(Site.address.ilike(pattern, escape="\\"),
                                                         Site.name.ilike(pattern, escape="\\")))
            stmt = stmt.where(or_(*(c.ilike(pattern, escape="\\") for c in (
                Customer.name, Customer.contact_name, Customer.phone, Customer.email, Customer.address)),
                Customer.id.in_(at_site)))
        if "city" in args:
            stmt = stmt.where(Customer.id.in_(select(Site.customer_id).where(Site.city == args["city"])))
        return paginate(db.session, stmt, order_by=[Customer.name, Customer.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerDetailSchema)
    def post(self, data):
        """Register a customer."""
        customer = service.create_customer(db.session, data)
        db.session.commit()
        return customer


@blp.route("/customers/<uuid:customer_id>")
class CustomerById(MethodView):
    @requires(*READERS)
    @blp.response(200, CustomerDetailSchema)
    def get(self, customer_id):
        """One customer with their sites."""
        return visible_or_404(Customer, customer_id, scope_customers, "customer")

    @requires(*EDITORS)
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerDetailSchema)
    def patch(self, data, customer_id):
        """Change a customer's name or contact details."""
        customer = visible_or_404(Customer, customer_id, None, "customer")
        service.update_customer(db.session, customer, data)
        db.session.commit()
        return customer


@blp.route("/sites")
class Sites(MethodView):
    @requires(*READERS)
    @blp.arguments(SiteQuerySchema, location="query")
    @blp.response(200, SitePageSchema)
    def get(self, args):
        """List customers' sites; a technician sees only the sites of their jobs."""
        stmt = scope_sites(select(Site), current_principal())
        for name in ("customer_id", "city"):
            if name in args:
                stmt = stmt.where(getattr(Site, name) == args[name])
        if "q" in args:
            pattern = like(args["q"])
            stmt = stmt.where(or_(Site.name.ilike(pattern, escape="\\"), Site.address.ilike(pattern, escape="\\")))
        return paginate(db.session, stmt, order_by=[Site.created_at, Site.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(SiteCreateSchema)
    @blp.response(201, SiteSchema)
    def post(self, data):
        """Add a site (an address where the customer's machines stand)."""
        site = service.create_site(db.session, data)
        db.session.commit()
        return site


@blp.route("/sites/<uuid:site_id>")
class SiteById(MethodView):
    @requires(*READERS)
    @blp.response(200, SiteSchema)
    def get(self, site_id):
        """One site."""
        return visible_or_404(Site, site_id, scope_sites, "site")

    @requires(*EDITORS)
    @blp.arguments(SiteUpdateSchema)
    @blp.response(200, SiteSchema)
    def patch(self, data, site_id):
        """Change a site's name, address or coordinates."""
        site = visible_or_404(Site, site_id, None, "site")
        service.update_site(db.session, site, data)
        db.session.commit()
        return site


@blp.route("/assets")
class Assets(MethodView):
    @requires(*READERS)
    @blp.arguments(AssetQuerySchema, location="query")
    @blp.response(200, AssetPageSchema)
    def get(self, args):
        """List installed machines; a technician sees those their jobs' tickets name."""
        stmt = scope_assets(select(Asset).options(selectinload(Asset.site)), current_principal())
        for name in ("site_id", "product_line", "model", "serial_number"):
            if name in args:
                stmt = stmt.where(getattr(Asset, name) == args[name])
        if "customer_id" in args:
            stmt = stmt.where(Asset.site_id.in_(select(Site.id).where(Site.customer_id == args["customer_id"])))
        if "under_warranty" in args:
            today = date.today()
            covered = Asset.warranty_end.is_not(None) & (Asset.warranty_end >= today)
            stmt = stmt.where(covered if args["under_warranty"] else ~covered)
        return paginate(db.session, stmt, order_by=[Asset.created_at, Asset.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(AssetCreateSchema)
    @blp.response(201, AssetSchema)
    def post(self, data):
        """Register an installed machine at a site."""
        asset = service.create_asset(db.session, data)
        db.session.commit()
        return asset


@blp.route("/assets/<uuid:asset_id>")
class AssetById(MethodView):
    @requires(*READERS)
    @blp.response(200, AssetSchema)
    def get(self, asset_id):
        """One asset, with whether it is under warranty today."""
        return visible_or_404(Asset, asset_id, scope_assets, "asset")

    @requires(*EDITORS)
    @blp.arguments(AssetUpdateSchema)
    @blp.response(200, AssetSchema)
    def patch(self, data, asset_id):
        """Correct an asset's details or move it to another site."""
        asset = visible_or_404(Asset, asset_id, None, "asset")
        service.update_asset(db.session, asset, data)
        db.session.commit()
        return asset


@blp.route("/customers/<uuid:customer_id>/service-history")
class CustomerServiceHistory(MethodView):
    @requires(*EDITORS)
    @blp.arguments(ServiceHistoryQuerySchema, location="query")
    @blp.response(200, ServiceHistoryPageSchema)
    def get(self, args, customer_id):
        """The customer's tickets (or one asset's), newest reception first, each with its completed visits: when
        sent, arrived and finished, by whom, what was found and done, parts used, the rating and the signed report
        (客户360). The visits are the asset visits' (`/assets/{id}/visits`); a page costs one query per kind."""
        visible_or_404(Customer, customer_id, scope_customers, "customer")
        page = paginate(db.session, history.history_tickets(customer_id, args.get("asset_id")),
                        order_by=[Ticket.received_at, Ticket.id], descending=True,
                        limit=args["limit"], cursor=args.get("cursor"))
        page.items = history.with_visits(db.session, page.items)
        return page


@blp.route("/assets/<uuid:asset_id>/visits")
class AssetVisits(MethodView):
    @requires(*READERS)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, AssetVisitPageSchema)
    def get(self, args, asset_id):
        """The asset's earlier visits (completed jobs, any technician's), newest first: what the handheld shows
        on a job. A technician sees them for the assets their jobs' tickets name."""
        visible_or_404(Asset, asset_id, scope_assets, "asset")
        return paginate(db.session, service.asset_visits(asset_id), order_by=[Job.completed_at, Job.id],
                        descending=True, limit=args["limit"], cursor=args.get("cursor"))


@blp.route("/contracts")
class Contracts(MethodView):
    @requires(*EDITORS)
    @blp.arguments(ContractQuerySchema, location="query")
    @blp.response(200, ContractPageSchema)
    def get(self, args):
        """List service contracts (their clocks override the defaults)."""
        stmt = select(ServiceContract)
        if "customer_id" in args:
            stmt = stmt.where(ServiceContract.customer_id == args["customer_id"])
        if "active_on" in args:
            day = args["active_on"]
            stmt = stmt.where(ServiceContract.starts_on <= day,
                              or_(ServiceContract.ends_on.is_(None), ServiceContract.ends_on >= day))
        return paginate(db.session, stmt, order_by=[ServiceContract.created_at, ServiceContract.id],
                        limit=args["limit"], cursor=args.get("cursor"))

    @requires(*EDITORS)
    @blp.arguments(ContractCreateSchema)
    @blp.response(201, ContractSchema)
    def post(self, data):
        """Sign a contract: tickets received while it runs get its clocks."""
        contract = service.create_contract(db.session, data)
        db.session.commit()
        return contract


@blp.route("/contracts/<uuid:contract_id>")
class ContractById(MethodView):
    @requires(*EDITORS)
    @blp.response(200, ContractSchema)
    def get(self, contract_id):
        """One contract."""
        return visible_or_404(ServiceContract, contract_id, None, "contract")

    @requires(*EDITORS)
    @blp.arguments(ContractUpdateSchema)
    @blp.response(200, ContractSchema)
    def patch(self, data, contract_id):
        """Change a contract; tickets already open keep the due times they were given."""
        contract = visible_or_404(ServiceContract, contract_id, None, "contract")
        service.update_contract(db.session, contract, data)
        db.session.commit()
        return contract
