"use strict";
/* Incidents and rescue: report one, record who was told, the rescue plan and its approval, resolution, the report. */
(() => {
  const API = {
    list: "GET /api/v1/quality/incidents",
    create: "POST /api/v1/quality/incidents",
    one: "GET /api/v1/quality/incidents/{id}",
    notice: "POST /api/v1/quality/incidents/{id}/notices",
    plan: "PUT /api/v1/quality/incidents/{id}/plan",
    approve: "POST /api/v1/quality/incidents/{id}/plan/approval",
    resolve: "POST /api/v1/quality/incidents/{id}/resolve",
    report: "PUT /api/v1/quality/incidents/{id}/report",
  };
  const { el, call, t, label } = FS;
  let current = null;

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
    current = i;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = i.title;
    const affected = i.affected.map((a) => a.customer_name + (a.model ? " · " + a.model + " " + a.serial_number : "")).join("；");
    const facts = [["field.status", label("incident_status", i.status)], ["incidents.affected", affected || "—"],
      ["incidents.plan", i.plan_lead ? t("incidents.plan_text", { hours: i.plan_repair_hours, people: i.plan_people,
        lead: i.plan_lead, cost: i.plan_cost }) : "—"],
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
    act(API.plan, body, "incidents.saved");
  });
  document.getElementById("approve-plan").addEventListener("click", () => act(API.approve, undefined, "incidents.saved"));
  document.getElementById("resolve").addEventListener("click", () => act(API.resolve, undefined, "incidents.saved"));
  document.getElementById("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    act(API.report, values(event.target), "incidents.saved");
  });
  list.reload();
})();
