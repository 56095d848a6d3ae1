"use strict";
/* A new ticket, as customer service takes it: find the customer by name, phone or
   address; pick the site and the asset (or add them); channel, category (a
   complaint's class), priority, the contact person, when it came in (never in
   the future: the clocks start there), what was reported. */
(() => {
  const API = {
    customers: "GET /api/v1/customers",
    customer: "GET /api/v1/customers/{id}",
    sites: "GET /api/v1/sites",
    addSite: "POST /api/v1/sites",
    assets: "GET /api/v1/assets",
    addAsset: "POST /api/v1/assets",
    create: "POST /api/v1/tickets",
  };
  const { el, call, t } = FS;
  const root = document.getElementById("ticket-new");
  const state = { customer: null };
  const siteSelect = document.getElementById("n-site");
  const assetSelect = document.getElementById("n-asset");
  const received = document.getElementById("n-received");

  function nowOnWallClock() { return FS.fmtTime(new Date()).replace(" ", "T"); }

  async function find(q) {
    const tbody = document.querySelector("#found tbody");
    try {
      const page = await call(API.customers, { query: { q, limit: 20 } });
      tbody.replaceChildren(...page.items.map((c) => el("tr", { dataset: { customerId: c.id } },
        el("td", {}, el("button", { type: "button", class: "pick", onclick: () => pick(c) }, t("newt.pick"))),
        el("td", {}, c.name), el("td", {}, c.contact_name || "—"), el("td", {}, c.phone || "—"),
        el("td", {}, c.address || "—"))));
      if (!page.items.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 5 }, t("newt.no_customer"))));
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  async function pick(customer) {
    state.customer = customer;
    document.getElementById("chosen-customer").textContent = "✓ " + customer.name
      + (customer.phone ? " · " + customer.phone : "");
    if (!document.getElementById("n-person").value && customer.contact_name) {
      document.getElementById("n-person").value = customer.contact_name;
      document.getElementById("n-phone").value = customer.phone || "";
    }
    document.getElementById("place").hidden = false;
    document.getElementById("report").hidden = false;
    await loadSites();
  }

  async function loadSites(selected) {
    const page = await call(API.sites, { query: { customer_id: state.customer.id, limit: 200 } });
    siteSelect.replaceChildren(...page.items.map((s) => el("option", { value: s.id, selected: s.id === selected },
      s.name + " · " + [s.city, s.address].filter(Boolean).join(" "))));
    await loadAssets();
  }

  async function loadAssets(selected) {
    assetSelect.replaceChildren(el("option", { value: "" }, t("newt.no_asset")));
    if (!siteSelect.value) return;
    const page = await call(API.assets, { query: { site_id: siteSelect.value, limit: 200 } });
    assetSelect.append(...page.items.map((a) => el("option", { value: a.id, selected: a.id === selected },
      FS.label("product_line", a.product_line) + " · " + a.model + " · " + a.serial_number)));
  }

  function formBody(form) {
    const body = {};
    for (const [name, value] of new FormData(form)) if (String(value).trim() !== "") body[name] = String(value).trim();
    return body;
  }

  document.getElementById("find").addEventListener("submit", (event) => {
    event.preventDefault();
    find(event.target.elements.q.value.trim());
  });
  siteSelect.addEventListener("change", () => loadAssets());
  document.getElementById("n-category").addEventListener("change", (event) => {
    document.getElementById("n-class-label").hidden = event.target.value !== "complaint";
  });

  document.getElementById("site-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { ...formBody(event.target), customer_id: state.customer.id };
    for (const k of ["latitude", "longitude"]) if (k in body) body[k] = Number(body[k]);
    try { const site = await call(API.addSite, { body }); event.target.reset();
          document.getElementById("add-site").open = false; await loadSites(site.id); }
    catch (e) { FS.flash(FS.errorText(e)); }
  });

  document.getElementById("asset-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { ...formBody(event.target), site_id: siteSelect.value };
    try { const asset = await call(API.addAsset, { body }); event.target.reset();
          document.getElementById("add-asset").open = false; await loadAssets(asset.id); }
    catch (e) { FS.flash(FS.errorText(e)); }
  });

  document.getElementById("ticket-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = document.getElementById("n-error");
    error.hidden = true;
    const show = (text) => { error.textContent = text; error.hidden = false; };
    if (!state.customer || !siteSelect.value) { show(t("newt.pick_customer_first")); return; }
    const f = event.target.elements;
    const body = { customer_id: state.customer.id, site_id: siteSelect.value, channel: f.channel.value,
                   category: f.category.value, priority: f.priority.value, summary: f.summary.value.trim() };
    if (assetSelect.value) body.asset_id = assetSelect.value;
    if (body.category === "complaint") body.complaint_class = f.complaint_class.value;
    if (f.description.value.trim()) body.description = f.description.value.trim();
    if (f.received_at.value) {
      const at = FS.zonedInstant(f.received_at.value);
      if (at.getTime() > Date.now() + 60000) { show(t("newt.future")); return; }
      body.received_at = at.toISOString();
    }
    const contact = {};
    if (f.person.value.trim()) contact.person = f.person.value.trim();
    if (f.phone.value.trim()) contact.phone = f.phone.value.trim();
    if (Object.keys(contact).length) body.contact = contact;
    try {
      const created = await call(API.create, { body });
      FS.flash(t("newt.created") + ": " + created.reference, "ok");
      location.assign("/tickets/" + created.id);
    } catch (e) { show(FS.errorText(e)); }
  });

  received.value = nowOnWallClock();
  if (root.dataset.customerId) call(API.customer, { params: { id: root.dataset.customerId } }).then(pick, () => {});
})();
