"use strict";
/* One location's reconciliation for a period, and the same report as a CSV file
   (fetched with the token, then saved: a plain link could not carry it). */
(() => {
  const API = {
    report: "GET /api/v1/stock/reconciliation",
  };
  const { el, call } = FS;
  const { num } = STOCK;
  const form = document.getElementById("filters");
  const csv = document.getElementById("csv");
  const FIGURES = ["opening", "received", "transferred_in", "transferred_out", "issued_in", "issued_out", "consumed",
                   "returned_in", "returned_out", "returned_defective", "expected_closing", "adjusted", "closing"];

  const picker = STOCK.locationPicker(form.elements.location, document.getElementById("location-list"));

  async function query() {
    const place = await picker.resolve();
    if (!place) throw new Error(FS.t("recon.choose_location"));
    return { location: place.id, ...STOCK.period(form.elements.from.value, form.elements.to.value) };
  }

  function ticket(reference, jobId) {
    return el("td", {}, reference || (jobId ? FS.t("disc.job") : "—"));
  }

  let shownPeriod = "";

  function render(r) {
    document.getElementById("report-title").textContent = FS.t("recon.title", { code: r.location.code, name: r.location.name,
      kind: STOCK.KINDS[r.location.kind], period: shownPeriod });
    const totals = document.getElementById("totals");
    totals.tHead.replaceChildren(el("tr", {}, FIGURES.map((f) => el("th", {}, FS.t("recon.fig." + f)))));
    totals.tBodies[0].replaceChildren(el("tr", {}, FIGURES.map((f) => num(r.totals[f]))));

    const lines = document.querySelector("#lines tbody");
    lines.replaceChildren(...r.lines.map((l) => el("tr", { class: l.count_difference || l.closing < 0 ? "escalated" : null },
      el("td", { class: "nowrap" }, l.part_number, el("div", { class: "small" }, l.part_name)), ...FIGURES.map((f) => num(l[f])),
      el("td", { class: "num", title: l.counted_at ? FS.t("recon.counted_at", { t: FS.fmtTime(l.counted_at) }) : null },
         l.counted === null ? "—" : String(l.counted)),
      num(l.count_difference), num(l.in_transit_now), num(l.reserved_now))));
    if (!r.lines.length) lines.append(el("tr", { class: "empty" }, el("td", { colspan: 18 }, FS.t("recon.no_movements"))));

    const used = document.querySelector("#consumption tbody");
    used.replaceChildren(...r.consumption.map((c) => el("tr", {}, el("td", {}, FS.fmtTime(c.at)),
      el("td", {}, c.part_number || "—"), num(Math.abs(c.quantity)), ticket(c.ticket_reference, c.job_id),
      el("td", {}, c.technician_name || "—"),
      el("td", {}, c.under_warranty ? FS.t("recon.under_warranty") : c.under_warranty === false ? FS.t("recon.chargeable") : "—"),
      el("td", { class: "num" }, c.charge === null || c.charge === undefined ? "—" : c.charge.toFixed(2)),
      el("td", { class: "small" }, (c.serial_numbers || []).join(", ")))));
    if (!r.consumption.length) used.append(el("tr", { class: "empty" }, el("td", { colspan: 8 }, "—")));

    const found = document.querySelector("#recon-discrepancies tbody");
    found.replaceChildren(...r.discrepancies.map((d) => el("tr", { class: d.status === "open" ? "escalated" : null },
      el("td", {}, FS.fmtTime(d.detected_at)), el("td", {}, FS.label("discrepancy_kind", d.kind)), el("td", {}, d.part_number || d.serial_number || "—"),
      num(d.quantity), num(d.balance_after), ticket(d.ticket_reference, d.job_id), el("td", {}, d.technician_name || "—"),
      el("td", {}, el("span", { class: "pill " + d.status }, FS.label("discrepancy_status", d.status))),
      el("td", {}, d.movements.length ? el("details", {}, el("summary", {}, FS.t("recon.movement_count", { n: d.movements.length })),
        el("ul", { class: "reasons" }, d.movements.map((m) => el("li", { class: "small" }, "#" + m.id + " "
          + FS.fmtTime(m.at) + " " + FS.label("movement_kind", m.kind) + " " + m.quantity + (m.ticket_reference ? " · " + m.ticket_reference : "")
          + (m.technician_name ? " · " + m.technician_name : "") + (m.reason ? " · " + m.reason : ""))))) : "—"))));
    if (!r.discrepancies.length) found.append(el("tr", { class: "empty" }, el("td", { colspan: 9 }, FS.t("disc.empty"))));
    document.getElementById("report").hidden = false;
  }

  async function load() {
    let q;
    try { q = await query(); } catch (e) { FS.flash(FS.errorText(e)); return; }
    csv.disabled = true;
    try {
      shownPeriod = FS.t("recon.period", { from: form.elements.from.value, to: form.elements.to.value });
      render(await call(API.report, { query: q }));
      csv.disabled = false;
      FS.flash("");
    } catch (e) { document.getElementById("report").hidden = true; FS.flash(FS.errorText(e)); }
  }

  csv.addEventListener("click", async () => {
    try {
      await FS.download(API.report, { query: { ...(await query()), format: "csv" }, accept: "text/csv",
                                      filename: "reconciliation.csv" });
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  (async () => {
    const days = STOCK.defaultDays();
    form.elements.from.value = days.from;
    form.elements.to.value = days.to;
    STOCK.restore(form);
    try { await picker.show(form.elements.location.value); } catch (e) { FS.flash(FS.errorText(e)); }
    form.addEventListener("submit", (event) => { event.preventDefault(); STOCK.remember(form); load(); });
    if (form.elements.location.value) load();
  })();
})();
