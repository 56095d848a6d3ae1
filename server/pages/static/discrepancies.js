"use strict";
/* Stock discrepancies, filtered, with what raised them; warehouse staff explain them. */
(() => {
  const API = {
    list: "GET /api/v1/stock/discrepancies",
    resolve: "POST /api/v1/stock/discrepancies/{id}/resolve",
    job: "GET /api/v1/jobs/{id}",
  };
  const { el, call } = FS;
  const { num } = STOCK;
  const form = document.getElementById("filters");
  const picker = STOCK.locationPicker(form.elements.location, document.getElementById("location-list"));
  let filter = {};

  function source(d) {
    const bits = [];
    if (d.job_id) {
      const link = el("a", { href: "#" }, FS.t("disc.job"));
      call(API.job, { params: { id: d.job_id } }).then((job) => { link.href = "/tickets/" + job.ticket_id;
        if (job.ticket_reference) link.textContent = FS.t("disc.job") + " " + job.ticket_reference; },
                                                       () => link.removeAttribute("href"));
      bits.push(link);
    }
    if (d.movement_id) bits.push(FS.t("disc.movement") + " #" + d.movement_id);
    if (d.count_session_id) bits.push(FS.t("disc.count"));
    if (d.transfer_id) bits.push(FS.t("disc.transfer"));
    if (d.serial_number) bits.push("S/N " + d.serial_number);
    return el("td", { class: "small" }, bits.flatMap((b, i) => (i ? [" · ", b] : [b])));
  }

  function resolution(d, replace) {
    if (d.status !== "open") {
      return el("td", {}, el("span", { class: "pill resolved" }, FS.label("discrepancy_status", "resolved")), " " + FS.fmtTime(d.resolved_at),
                el("div", { class: "small" }, d.resolution_note || ""));
    }
    if (!STOCK.canWrite()) return el("td", {}, el("span", { class: "pill open" }, FS.label("discrepancy_status", "open")));
    const note = el("input", { type: "text", placeholder: FS.t("disc.explain_placeholder"), maxlength: 2000,
                               "aria-label": FS.t("disc.explain_placeholder"), required: true });
    return el("td", {}, el("form", { class: "inline", onsubmit: async (event) => {
      event.preventDefault();
      if (!note.value.trim()) { note.focus(); return; }
      try {
        replace(await call(API.resolve, { params: { id: d.id }, body: { note: note.value.trim() } }));
        FS.flash(FS.t("disc.resolved"), "ok");
      } catch (e) { FS.flash(FS.errorText(e)); }
    } }, note, " ", el("button", { type: "submit" }, FS.t("disc.resolve"))));
  }

  function row(d) {
    const tr = el("tr", { class: d.status === "open" ? "escalated" : null, dataset: { discrepancyId: d.id } },
      el("td", {}, FS.fmtTime(d.detected_at)), STOCK.placeCell(d.location_id),
      el("td", {}, FS.label("discrepancy_kind", d.kind)), STOCK.partCell(d.part_id), num(d.quantity), num(d.balance_after),
      source(d));
    tr.append(resolution(d, (updated) => tr.replaceWith(row(updated))));
    return tr;
  }

  const list = FS.pager({
    tbody: document.querySelector("#discrepancies tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: { ...filter, limit: 50, ...(cursor ? { cursor } : {}) } }),
    render: row, empty: FS.t("disc.empty"),
  });

  (async () => {
    STOCK.restore(form);
    try { await picker.show(form.elements.location.value); } catch (e) { FS.flash(FS.errorText(e)); }
    async function apply() {
      try {
        const place = await picker.resolve();
        filter = {};
        if (place) filter.location_id = place.id;
        for (const name of ["status", "kind"]) if (form.elements[name].value) filter[name] = form.elements[name].value;
      } catch (e) { FS.flash(FS.errorText(e)); return; }
      list.reload();
    }
    form.addEventListener("submit", (event) => { event.preventDefault(); STOCK.remember(form); apply(); });
    apply();
  })();
})();
