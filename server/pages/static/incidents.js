"use strict";
/* Incidents and rescue: report one, add the customers and assets it hits, record who was told, the rescue
   plan (with its parts) and its approval, issue the plan's parts from a warehouse, resolution, the report. */
(() => {
  const API = {
    list: "GET /api/v1/quality/incidents",
    create: "POST /api/v1/quality/incidents",
    one: "GET /api/v1/quality/incidents/{id}",
    customers: "GET /api/v1/customers",
    assets: "GET /api/v1/assets",
    affected: "POST /api/v1/quality/incidents/{id}/affected",
    issue: "POST /api/v1/quality/incidents/{id}/parts-issue",
    notice: "POST /api/v1/quality/incidents/{id}/notices",
    plan: "PUT /api/v1/quality/incidents/{id}/plan",
    approve: "POST /api/v1/quality/incidents/{id}/plan/approval",
    resolve: "POST /api/v1/quality/incidents/{id}/resolve",
    report: "PUT /api/v1/quality/incidents/{id}/report",
  };
  const { el, call, t, label } = FS;
  let current = null;
  let planParts = [];  // [{part, quantity}] as chosen in the plan form
  const fromPicker = STOCK.locationPicker(document.getElementById("s-from"), document.getElementById("from-list"));
  const toPicker = STOCK.locationPicker(document.getElementById("s-to"), document.getElementById("to-list"));
  STOCK.suggestParts(document.getElementById("p-part"), document.getElementById("part-list"));

  const list = FS.pager({
    tbody: document.querySelector("#incidents tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: Object.assign({ limit: 50 }, cursor ? { cursor } : {}) }),
    render: (i) => el("tr", { dataset: { incidentId: i.id }, class: "clickable", onclick: () => show(i.id) },
      el("td", {}, i.title), el("td", {}, t("incidents.level_n", { n: i.level })),
      el("td", { class: "status" }, label("incident_status", i.status)), el("td", {}, FS.fmtTime(i.occurred_at)),
      el("td", {}, String(i.affected.length))),
    empty: t("incidents.none"),
  });

  function render(i) {
    const fresh = !current || current.id !== i.id;
    current = i;
    if (fresh) {  // the plan form starts from this incident's plan
      const fill = { "p-hours": i.plan_repair_hours, "p-people": i.plan_people, "p-lead": i.plan_lead,
                     "p-tools": i.plan_tools, "p-cost": i.plan_cost };
      for (const [id, value] of Object.entries(fill)) document.getElementById(id).value = value ?? "";
      planParts = [];
      drawPlanParts();
      const lines = i.plan_parts || [];
      Promise.all(lines.map((l) => STOCK.partNumber(l.part_id))).then((parts) => {
        if (current.id !== i.id) return;
        planParts = lines.map((l, n) => ({ part: parts[n], quantity: l.quantity })).filter((l) => l.part);
        drawPlanParts();
      });
    }
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = i.title;
    const affected = i.affected.map((a) => a.customer_name + (a.model ? " · " + a.model + " " + a.serial_number : "")).join("；");
    const facts = [["field.status", label("incident_status", i.status)], ["incidents.affected", affected || "—"],
      ["incidents.plan", i.plan_lead ? t("incidents.plan_text", { hours: i.plan_repair_hours, people: i.plan_people,
        lead: i.plan_lead, cost: i.plan_cost }) : "—"],
      ["incidents.plan_parts", partsText(i.plan_parts)],
      ["incidents.approved", i.plan_approved_at ? FS.fmtTime(i.plan_approved_at) : "—"],
      ["incidents.parts_issued", i.parts_issued_at ? FS.fmtTime(i.parts_issued_at) : "—"],
      ["incidents.cause", i.report_cause || "—"]];
    document.getElementById("facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, t(k)), el("dd", {}, v)]));
    document.querySelector("#notices tbody").replaceChildren(...i.notices.map((n) => el("tr", {},
      el("td", {}, n.person), el("td", {}, label("notice_channel", n.channel)), el("td", {}, FS.fmtTime(n.notified_at)),
      el("td", {}, n.note || ""))));
    document.getElementById("approve-plan").hidden = i.status !== "plan_submitted";
    document.getElementById("resolve").hidden = !["open", "plan_submitted", "plan_approved"].includes(i.status);
    document.getElementById("plan-form").hidden = !!i.parts_issued_at || ["resolved", "closed"].includes(i.status);
    document.getElementById("report-form").hidden = i.status !== "resolved";
    document.getElementById("affected-form").hidden = i.status === "closed";
    document.getElementById("issue-form").hidden = i.status !== "plan_approved" || !!i.parts_issued_at
      || !(i.plan_parts || []).length;
    document.getElementById("issue-confirm").hidden = true;
  }

  /* The plan's parts as "number × quantity", names filled in once known. */
  function partsText(lines) {
    if (!lines || !lines.length) return "—";
    const dd = el("span", {}, lines.map((l) => "… × " + l.quantity).join("；"));
    Promise.all(lines.map((l) => STOCK.partNumber(l.part_id))).then((parts) => {
      dd.textContent = lines.map((l, n) => (parts[n] ? parts[n].part_number + " " + parts[n].name : "?")
        + " × " + l.quantity).join("；");
    });
    return dd;
  }

  function drawPlanParts() {
    document.getElementById("p-parts").replaceChildren(...planParts.map((line, n) => el("li", {},
      line.part.part_number + " " + line.part.name + " × " + line.quantity + " ",
      el("button", { type: "button", class: "secondary", onclick: () => { planParts.splice(n, 1); drawPlanParts(); } },
        t("incidents.remove_part")))));
  }

  async function show(id) {
    try { render(await call(API.one, { params: { id } })); } catch (e) { FS.flash(FS.errorText(e)); }
  }

  async function act(spec, body, done) {
    try {
      render(await call(spec, { params: { id: current.id }, body }));
      await list.reload();
      FS.flash(t(done), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  const values = (form) => Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
  document.getElementById("new-incident").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = values(event.target);
    body.level = Number(body.level);
    try {
      const made = await call(API.create, { body });
      event.target.reset();
      await list.reload();
      render(made);
      FS.flash(t("incidents.reported"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });
  document.getElementById("notice-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(API.notice, values(event.target), "incidents.saved").then(() => event.target.reset());
  });
  document.getElementById("plan-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const body = values(event.target);
    for (const k of ["repair_hours", "people", "estimated_cost"]) body[k] = Number(body[k]);
    body.parts = planParts.map((l) => ({ part_id: l.part.id, quantity: l.quantity }));
    act(API.plan, body, "incidents.saved");
  });
  document.getElementById("approve-plan").addEventListener("click", () => act(API.approve, undefined, "incidents.saved"));
  document.getElementById("resolve").addEventListener("click", () => act(API.resolve, undefined, "incidents.saved"));
  document.getElementById("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(API.report, values(event.target), "incidents.saved");
  });

  document.getElementById("p-add-part").addEventListener("click", async () => {
    const input = document.getElementById("p-part"), qty = document.getElementById("p-qty");
    try {
      const part = await STOCK.findPart(input.value);
      if (!part) return;
      const quantity = Number(qty.value);
      if (!Number.isInteger(quantity) || quantity < 1) throw new Error(t("incidents.bad_quantity"));
      const same = planParts.find((l) => l.part.id === part.id);
      if (same) same.quantity += quantity; else planParts.push({ part, quantity });
      input.value = ""; qty.value = "1";
      drawPlanParts();
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  /* Affected customers and assets: find the customer, then the whole customer or one of its machines. */
  const customerSelect = document.getElementById("a-customer");
  const assetSelect = document.getElementById("a-asset");
  async function loadAssets() {
    assetSelect.replaceChildren(el("option", { value: "" }, t("incidents.whole_customer")));
    if (!customerSelect.value) return;
    try {
      const page = await call(API.assets, { query: { customer_id: customerSelect.value, limit: 200 } });
      assetSelect.append(...page.items.map((a) => el("option", { value: a.id },
        [FS.label("product_line", a.product_line), a.model, a.serial_number].filter(Boolean).join(" · "))));
    } catch (e) { FS.flash(FS.errorText(e)); }
  }
  document.getElementById("a-find").addEventListener("click", async () => {
    try {
      const page = await call(API.customers, { query: { q: document.getElementById("a-q").value.trim(), limit: 20 } });
      customerSelect.replaceChildren(...page.items.map((c) => el("option", { value: c.id },
        c.name + (c.phone ? " · " + c.phone : ""))));
      if (!page.items.length) FS.flash(t("incidents.no_customer"));
      await loadAssets();
    } catch (e) { FS.flash(FS.errorText(e)); }
  });
  customerSelect.addEventListener("change", loadAssets);
  document.getElementById("affected-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (!customerSelect.value) { FS.flash(t("incidents.pick_customer_first")); return; }
    const body = assetSelect.value ? { asset_ids: [assetSelect.value] } : { customer_ids: [customerSelect.value] };
    act(API.affected, body, "incidents.saved");
  });

  /* Issuing the plan's parts moves stock: say what leaves where to, and go on only when confirmed. */
  let pendingIssue = null;
  document.getElementById("issue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const [from, to] = [await fromPicker.resolve(), await toPicker.resolve()];
      if (!from || !to) throw new Error(t("incidents.pick_locations"));
      const parts = await Promise.all(current.plan_parts.map((l) => STOCK.partNumber(l.part_id)));
      pendingIssue = { location_id: from.id, to_location_id: to.id };
      document.getElementById("issue-question").textContent = t("incidents.confirm_issue", {
        from: from.code + " " + from.name, to: to.code + " " + to.name,
        parts: current.plan_parts.map((l, n) => (parts[n] ? parts[n].part_number : "?") + " × " + l.quantity).join("，") });
      document.getElementById("issue-confirm").hidden = false;
    } catch (e) { FS.flash(FS.errorText(e)); }
  });
  document.getElementById("issue-no").addEventListener("click", () => {
    pendingIssue = null;
    document.getElementById("issue-confirm").hidden = true;
  });
  document.getElementById("issue-yes").addEventListener("click", async () => {
    if (!pendingIssue) return;
    const body = pendingIssue;
    pendingIssue = null;
    document.getElementById("issue-confirm").hidden = true;
    await act(API.issue, body, "incidents.parts_issued_done");
  });
  list.reload();
})();
