"use strict";
/* Spare-unit swaps: visits on site too long, with the nearest unit and its couriers. */
(() => {
  const API = {
    list: "GET /api/v1/dispatch/swap-suggestions",
    ticket: "GET /api/v1/tickets/{id}",
    technician: "GET /api/v1/technicians/{id}",
    send: "POST /api/v1/jobs/{id}/spare-unit",
    arrived: "POST /api/v1/jobs/{id}/spare-unit/arrived",
  };
  const { el, call } = FS;
  const cache = new Map();
  const lookup = (spec, objectId, pick) => {
    if (!objectId) return Promise.resolve("—");
    const key = spec + objectId;
    if (!cache.has(key)) cache.set(key, call(spec, { params: { id: objectId } }).then(pick, () => "—"));
    return cache.get(key);
  };
  /* Why a visit has no option, in the reader's language (the API's note is English). */
  const swapNote = (s) => (s.note_code ? FS.t("swaps.note_code." + s.note_code, { model: s.model || "—" }) : s.note || "");
  const km = (x) => (x === null || x === undefined ? "—" : x.toFixed(x < 10 ? 1 : 0) + " km");

  /* Send the unit (with a courier, or without one named): it goes into transit to the site. */
  async function send(s, o, courier) {
    try {
      await call(API.send, { params: { id: s.job_id }, body: { spare_unit_id: o.spare_unit_id,
                                                              courier_id: courier ? courier.technician_id : null } });
      FS.flash(FS.t("swaps.sent"), "ok");
      load(true);
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  function options(s) {
    const onItsWay = (s.on_its_way || []).map((u) => el("li", { class: "on-its-way" },
      FS.t("swaps.on_its_way", { serial: u.serial_number }), " ",
      el("button", { type: "button", class: "arrived", onclick: async () => {
        try { await call(API.arrived, { params: { id: s.job_id }, body: { spare_unit_id: u.id } });
              FS.flash(FS.t("swaps.lent"), "ok"); load(true); } catch (e) { FS.flash(FS.errorText(e)); }
      } }, FS.t("swaps.arrived"))));
    if (!s.options.length && !onItsWay.length) return "—";
    return el("ul", { class: "reasons" }, onItsWay, s.options.map((o) => el("li", {},
      o.serial_number + " @ " + o.location_code + " (" + km(o.distance_km) + ")",
      o.couriers.length ? el("ul", {}, o.couriers.map((c) => el("li", { class: "small" }, c.name + ": "
        + (c.holds_unit_in_van ? FS.t("swaps.in_van") : FS.t("swaps.to_pick_up", { d: km(c.to_pickup_km) }))
        + ", " + FS.t("swaps.delivers", { t: FS.fmtTime(c.delivered_at) }) + " ",
        el("button", { type: "button", class: "send", onclick: () => send(s, o, c) },
           FS.t("swaps.send_with", { name: c.name })))))
        : el("div", { class: "small" }, FS.t("swaps.nobody") + " ",
             el("button", { type: "button", class: "send", onclick: () => send(s, o, null) }, FS.t("swaps.send"))))));
  }

  function row(s) {
    const ticket = el("a", { href: "/tickets/" + s.ticket_id + "/dispatch" }, "…");
    const tech = el("td", {}, "…");
    lookup(API.ticket, s.ticket_id, (t) => t.reference).then((ref) => { ticket.textContent = ref; });
    lookup(API.technician, s.technician_id, (t) => t.name).then((n) => { tech.textContent = n; });
    return el("tr", { dataset: { jobId: s.job_id } }, el("td", {}, ticket), tech, el("td", {}, s.model || "—"),
      el("td", { class: "clock breached", title: FS.t("swaps.since", { t: FS.fmtTime(s.on_site_since) }) },
         FS.t("unit.hours", { n: (s.on_site_hours || 0).toFixed(1) })),
      el("td", {}, options(s)), el("td", {}, swapNote(s)));
  }

  async function load(keepFlash) {
    const tbody = document.querySelector("#swaps tbody");
    try {
      const body = await call(API.list);
      tbody.replaceChildren(...body.items.map(row));
      if (!body.items.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 6 }, FS.t("swaps.empty"))));
      if (keepFlash !== true) FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  document.getElementById("refresh").addEventListener("click", () => load());
  load();
  setInterval(() => { if (!document.hidden) load(); }, 120000);
})();
