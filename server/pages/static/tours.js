"use strict";
/* Proactive service: where the installed base is, tours with their pre-contact and route, inspections due. */
(() => {
  const API = {
    regions: "GET /api/v1/quality/tours/regions",
    tours: "GET /api/v1/quality/tours",
    create: "POST /api/v1/quality/tours",
    tour: "GET /api/v1/quality/tours/{id}",
    contact: "POST /api/v1/quality/tours/{id}/stops/{stop}/contact",
    plan: "POST /api/v1/quality/tours/{id}/plan",
    technicians: "GET /api/v1/technicians",
    inspections: "GET /api/v1/quality/inspections",
    complete: "POST /api/v1/quality/inspections/{id}/complete",
  };
  const { el, call, t, label } = FS;
  let current = null;

  async function regions() {
    try {
      const r = await call(API.regions);
      document.querySelector("#regions tbody").replaceChildren(...r.items.map((g) => el("tr", {},
        el("td", {}, g.city), el("td", {}, g.assets), el("td", {}, g.customers),
        el("td", {}, el("button", { type: "button", class: "pick-city", onclick: () => {
          document.getElementById("t-city").value = g.city;
          if (!document.getElementById("t-name").value) document.getElementById("t-name").value = t("tours.default_name", { city: g.city });
        } }, t("tours.pick"))))));
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  function contactCell(s) {
    if (s.status !== "pending") {
      const bits = [s.contact_name, s.model, s.symptoms, s.estimated_hours != null ? t("tours.hours", { n: s.estimated_hours }) : null,
        s.estimated_cost != null ? t("tours.cost", { n: s.estimated_cost }) : null].filter(Boolean);
      return el("td", {}, bits.join(" · "), s.contact_in_window === false ? el("div", { class: "small" }, t("tours.out_of_window")) : null);
    }
    const name = el("input", { class: "c-name", placeholder: t("tours.contact_name"), maxlength: 200 });
    const symptoms = el("input", { class: "c-symptoms", placeholder: t("tours.symptoms"), maxlength: 5000 });
    const hours = el("input", { class: "c-hours", type: "number", min: 0, step: 0.5, placeholder: t("tours.est_hours") });
    const cost = el("input", { class: "c-cost", type: "number", min: 0, placeholder: t("tours.est_cost") });
    const day = el("input", { class: "c-day", type: "date", min: current.starts_on, max: current.ends_on, value: current.starts_on });
    const send = (agreed) => async () => {
      const body = { agreed, contact_name: name.value.trim() };
      if (symptoms.value.trim()) body.symptoms = symptoms.value.trim();
      if (hours.value) body.estimated_hours = Number(hours.value);
      if (cost.value) body.estimated_cost = Number(cost.value);
      if (agreed) body.visit_on = day.value;
      try { render(await call(API.contact, { params: { id: current.id, stop: s.id }, body })); FS.flash(t("tours.saved"), "ok"); }
      catch (e) { FS.flash(FS.errorText(e)); }
    };
    return el("td", {}, name, symptoms, hours, cost, day,
      el("button", { type: "button", class: "agree", onclick: send(true) }, t("tours.agree")),
      el("button", { type: "button", class: "decline", onclick: send(false) }, t("tours.decline")));
  }

  function render(tour) {
    current = tour;
    document.getElementById("tour").hidden = false;
    document.getElementById("tour-title").textContent = tour.name + " · " + tour.city;
    document.getElementById("tour-window").textContent = t("tours.window", { from: FS.fmtTime(tour.contact_from, "date"),
      by: FS.fmtTime(tour.contact_by, "date") });
    document.querySelector("#stops tbody").replaceChildren(...tour.stops.map((s) => el("tr", { dataset: { stopId: s.id } },
      el("td", {}, s.route_order || "—"), el("td", {}, s.customer_name, el("div", { class: "small" }, s.phone || "")),
      el("td", {}, s.site_name), el("td", { class: "status" }, label("tour_stop_status", s.status)), contactCell(s),
      el("td", {}, s.visit_on ? FS.fmtTime(s.visit_on, "date") : "—"), el("td", {}, s.planned_start ? FS.fmtTime(s.planned_start) : "—"),
      el("td", {}, s.job_id ? el("span", {}, t("tours.job_made")) : ""))));
    document.getElementById("plan-form").hidden = !!tour.planned_at;
  }

  const tours = FS.pager({
    tbody: document.querySelector("#tours tbody"), more: document.getElementById("more-tours"),
    load: (cursor) => call(API.tours, { query: Object.assign({ limit: 20 }, cursor ? { cursor } : {}) }),
    render: (x) => el("tr", { dataset: { tourId: x.id }, class: "clickable", onclick: async () => {
      try { render(await call(API.tour, { params: { id: x.id } })); } catch (e) { FS.flash(FS.errorText(e)); }
    } }, el("td", {}, x.name), el("td", {}, x.city),
      el("td", {}, FS.fmtTime(x.starts_on, "date") + " – " + FS.fmtTime(x.ends_on, "date")),
      el("td", {}, x.planned_at ? FS.fmtTime(x.planned_at) : "—")),
    empty: t("tours.none"),
  });

  const inspections = FS.pager({
    tbody: document.querySelector("#inspections tbody"), more: document.getElementById("more-inspections"),
    load: (cursor) => call(API.inspections, { query: Object.assign({ limit: 50 }, cursor ? { cursor } : {}) }),
    render: (i) => {
      const finding = el("input", { class: "finding", placeholder: t("tours.finding_hint"), maxlength: 2000 });
      const ticket = el("input", { type: "checkbox", class: "finding-ticket" });
      const done = el("button", { type: "button", class: "complete", onclick: async () => {
        const findings = finding.value.trim() ? [{ severity: ticket.checked ? "major" : "minor", description: finding.value.trim(),
                                                  open_ticket: ticket.checked }] : [];
        try {
          await call(API.complete, { params: { id: i.id }, body: { findings } });
          await inspections.reload();
          FS.flash(t("tours.inspected"), "ok");
        } catch (e) { FS.flash(FS.errorText(e)); }
      } }, t("tours.complete"));
      return el("tr", { dataset: { inspectionId: i.id } }, el("td", {}, i.customer_name, el("div", { class: "small" }, i.site_name)),
        el("td", {}, i.model + " · " + i.serial_number), el("td", {}, FS.fmtTime(i.due_on, "date")),
        el("td", {}, finding, el("label", {}, ticket, t("tours.open_ticket"))), el("td", {}, done));
    },
    empty: t("tours.no_inspections"),
  });

  document.getElementById("new-tour").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = Object.fromEntries(new FormData(event.target));
    try {
      const made = await call(API.create, { body });
      event.target.reset();
      await tours.reload();
      render(made);
      FS.flash(t("tours.created"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });
  document.getElementById("plan-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      render(await call(API.plan, { params: { id: current.id }, body: { technician_id: document.getElementById("plan-technician").value } }));
      await tours.reload();
      FS.flash(t("tours.planned_ok"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });
  call(API.technicians, { query: { limit: 500 } }).then((page) => {
    document.getElementById("plan-technician").replaceChildren(...page.items.map((x) => el("option", { value: x.id }, x.name)));
  }, (e) => FS.flash(FS.errorText(e)));
  regions();
  tours.reload();
  inspections.reload();
})();
