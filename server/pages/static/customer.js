"use strict";
/* 客户360: one customer's sites, assets with their service history (a timeline
   per asset: reception, dispatch, arrival, completion, who, what was done, parts,
   rating, the signed report), contracts and their clocks, tickets (filtered by
   asset, serial, product line, complaint class) and signed work reports. */
(() => {
  const API = {
    customer: "GET /api/v1/customers/{id}",
    assets: "GET /api/v1/assets",
    contracts: "GET /api/v1/contracts",
    tickets: "GET /api/v1/tickets",
    history: "GET /api/v1/customers/{id}/service-history",
    pdf: "GET /api/v1/jobs/{id}/report.pdf",
  };
  const { el, call, t } = FS;
  const id = document.getElementById("customer").dataset.customerId;
  const state = { sites: {}, assets: [], historyByAsset: {}, history: [], cursor: null, groups: {} };
  const HISTORY_PAGE = 100;  // tickets per page of the service history (each with its visits)

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
      el("td", {}, FS.label("product_line", a.product_line)), el("td", {}, a.model), el("td", {}, a.serial_number),
      el("td", {}, state.sites[a.site_id] || "—"), el("td", {}, warranty(a)),
      el("td", {}, t("c360.history_count", { n: state.historyByAsset[a.id] || 0 }), " ",
         el("button", { type: "button", class: "link", onclick: () => {
           document.getElementById("tf-asset").value = a.id;
           tickets({ asset_id: a.id });
         } }, t("c360.show_tickets")), " ",
         el("button", { type: "button", class: "link show-timeline", onclick: () => {
           const group = state.groups[a.id];
           if (group) group.scrollIntoView();
         } }, t("c360.show_timeline"))))));
  }

  async function contracts() {
    let page;
    try { page = await call(API.contracts, { query: { customer_id: id, limit: 100 } }); } catch (e) {
      if (e.status !== 403) throw e;  // contracts are the office's (dispatchers, admins)
      page = { items: [] };
    }
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

  /* The service history: one page of the customer's tickets, each with its completed visits, in one call. */
  async function loadHistory(more = false) {
    const query = { limit: HISTORY_PAGE };
    if (more && state.cursor) query.cursor = state.cursor;
    const page = await call(API.history, { params: { id }, query });
    state.history = more ? state.history.concat(page.items) : page.items;
    state.cursor = page.has_more ? page.next_cursor : null;
    document.getElementById("c-more").hidden = !state.cursor;
    timeline();
    reports();
  }

  function pdfButton(jobId) {
    return el("button", { type: "button", class: "link report-pdf", onclick: () => FS.download(API.pdf, {
      params: { id: jobId }, accept: "application/pdf" }).catch((e) => FS.flash(FS.errorText(e))) }, t("tkt.report_pdf"));
  }

  function step(name, at, ...rest) {
    return el("li", {}, el("span", { class: "step" }, t(name)), " ", FS.fmtTime(at), ...(rest.length ? [" · ", ...rest] : []));
  }

  /* One completed visit: sent, arrived, finished (by whom), what was found and done, parts, rating, signed report. */
  function visitSteps(v) {
    const facts = [[t("c360.fault_cause"), v.fault_cause], [t("c360.solution"), v.solution], [t("tkt.work_done"), v.work_done],
      [t("c360.parts_used"), v.parts.map((p) => p.part_number + " " + p.name + " × " + p.quantity).join("、")],
      [t("c360.rating"), v.customer_rating ? FS.label("customer_rating", v.customer_rating)
        + (v.customer_opinion ? " · " + v.customer_opinion : "") : ""]].filter(([, value]) => value);
    const signed = v.signed_at ? t("c360.signed_by", { name: v.signer_name || "—", t: FS.fmtTime(v.signed_at) })
      : t("c360.unsigned") + (v.no_signature_reason ? " · " + FS.label("no_signature_reason", v.no_signature_reason) : "");
    return [
      v.dispatched_at ? step("c360.step_dispatched", v.dispatched_at, v.technician_name || t("tkt.unassigned")) : null,
      v.arrived_at ? step("c360.step_arrived", v.arrived_at) : null,
      el("li", { class: "visit", dataset: { signed: v.signed_at ? "yes" : "no" } },
        el("span", { class: "step" }, t("c360.step_completed")), " ", FS.fmtTime(v.completed_at), " · ",
        v.technician_name || "—",
        el("dl", { class: "details visit-facts" }, ...facts.flatMap(([k, value]) => [el("dt", {}, k), el("dd", {}, value)]),
          el("dt", {}, t("c360.reports")), el("dd", {}, signed, " ", pdfButton(v.job_id)))),
    ].filter(Boolean);
  }

  function ticketEntry(h) {
    const steps = [step("c360.step_received", h.received_at), ...h.visits.flatMap(visitSteps)];
    if (h.resolved_at) steps.push(step("c360.step_resolved", h.resolved_at));
    if (h.closed_at) steps.push(step("c360.step_closed", h.closed_at));
    return el("li", { class: "tl-ticket", dataset: { ticketId: h.ticket_id } },
      el("a", { href: "/tickets/" + h.ticket_id }, h.reference), " · ", h.summary, " · ",
      FS.label("category", h.category) + (h.complaint_class ? " / " + FS.label("complaint_class", h.complaint_class) : ""),
      " · ", FS.label("ticket_status", h.status),
      el("ol", { class: "steps" }, ...steps),
      h.visits.length ? "" : el("p", { class: "hint" }, t("c360.no_visits")));
  }

  /* Per asset (in the assets' order, then tickets naming none), its tickets newest first. */
  function timeline() {
    const byAsset = new Map(state.assets.map((a) => [a.id, []]));
    const loose = [];
    for (const h of state.history) {
      if (!h.asset_id) { loose.push(h); continue; }
      if (!byAsset.has(h.asset_id)) byAsset.set(h.asset_id, []);
      byAsset.get(h.asset_id).push(h);
    }
    const assetsById = Object.fromEntries(state.assets.map((a) => [a.id, a]));
    state.groups = {};
    const groups = [...byAsset].map(([assetId, entries]) => {
      const a = assetsById[assetId];
      const group = el("article", { class: "asset-history", dataset: { assetId, serial: a ? a.serial_number : "" } },
        el("h3", {}, a ? t("c360.timeline_asset", { line: FS.label("product_line", a.product_line), model: a.model, serial: a.serial_number }) : "—"),
        entries.length ? el("ol", { class: "timeline" }, ...entries.map(ticketEntry)) : el("p", {}, t("c360.history_empty")));
      state.groups[assetId] = group;
      return group;
    });
    if (loose.length) groups.push(el("article", { class: "asset-history", dataset: { assetId: "" } },
      el("h3", {}, t("c360.no_asset")), el("ol", { class: "timeline" }, ...loose.map(ticketEntry))));
    document.getElementById("c-timeline").replaceChildren(...(groups.length ? groups : [el("p", {}, t("c360.history_empty"))]));
  }

  /* The signed work reports among the loaded history: each a PDF. */
  function reports() {
    const items = [];
    for (const h of state.history) {
      for (const v of h.visits.filter((x) => x.signed_at)) {
        items.push(el("li", {}, el("a", { href: "/tickets/" + h.ticket_id }, h.reference), " · ",
          FS.fmtTime(v.signed_at), " · ", v.signer_name || "", " ", pdfButton(v.job_id)));
      }
    }
    document.getElementById("c-reports").replaceChildren(...(items.length ? items : [el("li", {}, t("c360.no_reports"))]));
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
  document.getElementById("c-more").addEventListener("click", () => loadHistory(true).catch((e) => FS.flash(FS.errorText(e))));
  document.getElementById("ticket-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    tickets(filterOf(event.target)).catch((e) => FS.flash(FS.errorText(e)));
  });

  (async () => {
    details(await call(API.customer, { params: { id } }));
    const all = await tickets();
    for (const tk of all) if (tk.asset_id) state.historyByAsset[tk.asset_id] = (state.historyByAsset[tk.asset_id] || 0) + 1;
    await Promise.all([assets(), contracts()]);
    try { await loadHistory(); } catch (e) {
      if (e.status !== 403) throw e;  // warehouse staff do not see jobs
      document.getElementById("c-timeline").replaceChildren(el("p", {}, t("c360.history_hidden")));
      document.getElementById("c-reports").replaceChildren(el("li", {}, "—"));
    }
  })().catch((e) => FS.flash(FS.errorText(e)));
})();
