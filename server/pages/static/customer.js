"use strict";
/* 客户360: one customer's sites, assets with their service history, contracts
   and their clocks, tickets (filtered by asset, serial, product line, complaint
   class) and signed work reports. */
(() => {
  const API = {
    customer: "GET /api/v1/customers/{id}",
    assets: "GET /api/v1/assets",
    contracts: "GET /api/v1/contracts",
    tickets: "GET /api/v1/tickets",
    jobs: "GET /api/v1/jobs",
    signature: "GET /api/v1/jobs/{id}/signature",
    pdf: "GET /api/v1/jobs/{id}/report.pdf",
  };
  const { el, call, t } = FS;
  const id = document.getElementById("customer").dataset.customerId;
  const state = { sites: {}, assets: [], historyByAsset: {} };
  const REPORT_LIMIT = 20;  // signed reports looked up among the latest finished tickets

  function details(c) {
    document.getElementById("customer-name").textContent = t("page.customer") + " · " + c.name;
    const rows = [[t("tkt.contact"), c.contact_name || "—"], [t("field.phone"), c.phone || "—"],
      ["Email", c.email || "—"], [t("tkt.address"), c.address || "—"]];
    document.getElementById("c-details").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    document.querySelector("#c-sites tbody").replaceChildren(...c.sites.map((s) => el("tr", {},
      el("td", {}, s.name), el("td", {}, s.city || "—"), el("td", {}, s.address))));
    for (const s of c.sites) state.sites[s.id] = s.name;
  }

  function warranty(a) {
    if (!a.warranty_end) return t("tkt.warranty_none");
    return a.under_warranty ? t("tkt.warranty_until", { d: a.warranty_end }) : t("tkt.warranty_ended", { d: a.warranty_end });
  }

  async function assets(filter = {}) {
    const page = await call(API.assets, { query: { customer_id: id, limit: 200, ...filter } });
    if (!Object.keys(filter).length) {
      state.assets = page.items;
      document.getElementById("tf-asset").replaceChildren(el("option", { value: "" }, t("c360.all")),
        ...page.items.map((a) => el("option", { value: a.id }, a.model + " · " + a.serial_number)));
    }
    document.querySelector("#c-assets tbody").replaceChildren(...page.items.map((a) => el("tr", { dataset: { serial: a.serial_number } },
      el("td", {}, a.product_line), el("td", {}, a.model), el("td", {}, a.serial_number),
      el("td", {}, state.sites[a.site_id] || "—"), el("td", {}, warranty(a)),
      el("td", {}, t("c360.history_count", { n: state.historyByAsset[a.id] || 0 }), " ",
         el("button", { type: "button", class: "link", onclick: () => {
           document.getElementById("tf-asset").value = a.id;
           tickets({ asset_id: a.id });
         } }, t("c360.show_tickets"))))));
  }

  async function contracts() {
    const page = await call(API.contracts, { query: { customer_id: id, limit: 100 } });
    document.querySelector("#c-contracts tbody").replaceChildren(...page.items.map((k) => el("tr", {},
      el("td", {}, k.name), el("td", {}, k.starts_on + " – " + (k.ends_on || "…")),
      el("td", {}, t("c360.contract_clocks", { r: k.response_hours, o: k.on_site_hours, s: k.resolve_hours })))));
    if (!page.items.length) document.querySelector("#c-contracts tbody").append(el("tr", { class: "empty" },
      el("td", { colspan: 3 }, "—")));
  }

  function ticketRow(tk) {
    return el("tr", { dataset: { ticketId: tk.id } },
      el("td", {}, el("a", { href: "/tickets/" + tk.id }, tk.reference)), el("td", {}, FS.fmtTime(tk.received_at)),
      el("td", {}, FS.label("category", tk.category) + (tk.complaint_class ? " / " + FS.label("complaint_class", tk.complaint_class) : "")),
      el("td", {}, FS.label("ticket_status", tk.status)), el("td", {}, tk.summary));
  }

  async function tickets(filter = {}) {
    const page = await call(API.tickets, { query: { customer_id: id, limit: 200, ...filter } });
    const tbody = document.querySelector("#c-tickets tbody");
    tbody.replaceChildren(...page.items.map(ticketRow));
    if (!page.items.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 5 }, t("app.nothing"))));
    return page.items;
  }

  /* Completed jobs of the latest finished tickets whose report the customer signed: each a PDF. */
  async function reports(all) {
    const list = document.getElementById("c-reports");
    const finished = all.filter((tk) => ["resolved", "closed"].includes(tk.status)).slice(-REPORT_LIMIT);
    const items = [];
    for (const tk of finished) {
      const jobs = await call(API.jobs, { query: { ticket_id: tk.id } }).catch(() => ({ items: [] }));
      for (const job of jobs.items.filter((j) => j.status === "completed")) {
        const status = await call(API.signature, { params: { id: job.id } }).catch(() => null);
        if (!status || !status.signature) continue;
        items.push(el("li", {}, el("a", { href: "/tickets/" + tk.id }, tk.reference), " · ",
          FS.fmtTime(status.signature.received_at), " · ", status.signature.signer_name || "", " ",
          el("button", { type: "button", class: "link", onclick: () => FS.download(API.pdf, { params: { id: job.id },
            accept: "application/pdf" }).catch((e) => FS.flash(FS.errorText(e))) }, t("tkt.report_pdf"))));
      }
    }
    list.replaceChildren(...(items.length ? items : [el("li", {}, t("c360.no_reports"))]));
  }

  function filterOf(form) {
    const q = {};
    for (const [name, value] of new FormData(form)) if (String(value).trim()) q[name] = String(value).trim();
    return q;
  }

  document.getElementById("asset-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    assets(filterOf(event.target)).catch((e) => FS.flash(FS.errorText(e)));
  });
  document.getElementById("ticket-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    tickets(filterOf(event.target)).catch((e) => FS.flash(FS.errorText(e)));
  });

  (async () => {
    details(await call(API.customer, { params: { id } }));
    const all = await tickets();
    for (const tk of all) if (tk.asset_id) state.historyByAsset[tk.asset_id] = (state.historyByAsset[tk.asset_id] || 0) + 1;
    await Promise.all([assets(), contracts()]);
    await reports(all);
  })().catch((e) => FS.flash(FS.errorText(e)));
})();
