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
  const KINDS = { negative_balance: "负库存 negative balance", count_difference: "盘点差异 count difference",
                  transit_shortfall: "在途短少 transit shortfall", unknown_serial: "未知序列号 unknown serial" };
  const picker = STOCK.locationPicker(form.elements.location, document.getElementById("location-list"));
  let filter = {};

  function source(d) {
    const bits = [];
    if (d.job_id) {
      const link = el("a", { href: "#" }, "job " + d.job_id.slice(0, 8));
      call(API.job, { params: { id: d.job_id } }).then((job) => { link.href = "/tickets/" + job.ticket_id; },
                                                       () => link.removeAttribute("href"));
      bits.push(link);
    }
    if (d.movement_id) bits.push("movement #" + d.movement_id);
    if (d.count_session_id) bits.push("count " + d.count_session_id.slice(0, 8));
    if (d.transfer_id) bits.push("transfer " + d.transfer_id.slice(0, 8));
    if (d.serial_number) bits.push("S/N " + d.serial_number);
    return el("td", { class: "small" }, bits.flatMap((b, i) => (i ? [" · ", b] : [b])));
  }

  function resolution(d, replace) {
    if (d.status !== "open") {
      return el("td", {}, el("span", { class: "pill resolved" }, "resolved"), " " + FS.fmtTime(d.resolved_at),
                el("div", { class: "small" }, d.resolution_note || ""));
    }
    if (!STOCK.canWrite()) return el("td", {}, el("span", { class: "pill open" }, "open"));
    const note = el("input", { type: "text", placeholder: "说明 how it was explained", maxlength: 2000,
                               "aria-label": "explanation", required: true });
    return el("td", {}, el("form", { class: "inline", onsubmit: async (event) => {
      event.preventDefault();
      if (!note.value.trim()) { note.focus(); return; }
      try {
        replace(await call(API.resolve, { params: { id: d.id }, body: { note: note.value.trim() } }));
        FS.flash("已处理 Resolved", "ok");
      } catch (e) { FS.flash(FS.errorText(e)); }
    } }, note, " ", el("button", { type: "submit" }, "处理 Resolve")));
  }

  function row(d) {
    const tr = el("tr", { class: d.status === "open" ? "escalated" : null, dataset: { discrepancyId: d.id } },
      el("td", {}, FS.fmtTime(d.detected_at)), STOCK.placeCell(d.location_id),
      el("td", {}, KINDS[d.kind] || d.kind), STOCK.partCell(d.part_id), num(d.quantity), num(d.balance_after),
      source(d));
    tr.append(resolution(d, (updated) => tr.replaceWith(row(updated))));
    return tr;
  }

  const list = FS.pager({
    tbody: document.querySelector("#discrepancies tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: { ...filter, limit: 50, ...(cursor ? { cursor } : {}) } }),
    render: row, empty: "没有差异 No discrepancies.",
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
