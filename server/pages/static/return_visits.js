"use strict";
/* Return visits: the day's call list and what each call came to (a problem opens a ticket in the same step). */
(() => {
  const API = {
    list: "GET /api/v1/quality/return-visits",
    call: "POST /api/v1/quality/return-visits/{id}/calls",
  };
  const { el, call, t, label } = FS;
  const form = document.getElementById("filters");
  const dayInput = document.getElementById("f-day");

  async function record(visit, body, row) {
    try {
      const done = await call(API.call, { params: { id: visit.id }, body });
      await list.reload();
      FS.flash(done.ticket_id ? t("return_visits.ticket_opened") : t("return_visits.recorded"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  function actions(v, row) {
    const note = el("input", { class: "note", placeholder: t("return_visits.note"), maxlength: 5000 });
    const summary = el("input", { class: "problem-summary", placeholder: t("return_visits.problem_hint"), maxlength: 300 });
    const back = el("input", { type: "date", class: "call-back-on" });
    const withNote = (body) => (note.value.trim() ? Object.assign(body, { note: note.value.trim() }) : body);
    return el("div", { class: "call-actions" }, note,
      el("button", { type: "button", class: "satisfied", onclick: () => record(v, withNote({ outcome: "satisfied" }), row) },
        label("call_outcome", "satisfied")),
      el("span", {}, summary, el("button", { type: "button", class: "problem", onclick: () => {
        if (!summary.value.trim()) { FS.flash(t("return_visits.problem_needed")); return; }
        record(v, withNote({ outcome: "problem", problem: { summary: summary.value.trim() } }), row);
      } }, label("call_outcome", "problem"))),
      el("span", {}, back, el("button", { type: "button", class: "call-back", onclick: () =>
        record(v, withNote(Object.assign({ outcome: "call_back" }, back.value ? { call_back_on: back.value } : {})), row) },
        label("call_outcome", "call_back"))),
      el("button", { type: "button", class: "unreachable", onclick: () => record(v, withNote({ outcome: "unreachable" }), row) },
        label("call_outcome", "unreachable")));
  }

  const list = FS.pager({
    tbody: document.querySelector("#visits tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: Object.assign({ limit: 50 }, dayInput.value ? { day: dayInput.value } : {},
                                                            cursor ? { cursor } : {}) }),
    render: (v) => {
      const row = el("tr", { dataset: { visitId: v.id } });
      const last = v.calls.length ? v.calls[v.calls.length - 1] : null;
      row.append(el("td", {}, v.customer_name, el("div", { class: "small" }, v.site_name)),
        el("td", {}, v.contact_name || "", el("div", {}, v.phone || "—")),
        el("td", {}, v.model + " · " + v.serial_number),
        el("td", {}, FS.fmtTime(v.next_call_on, "date"), v.next_call_on !== v.due_on
          ? el("div", { class: "small" }, t("return_visits.was_due", { d: FS.fmtTime(v.due_on, "date") })) : null),
        el("td", {}, t("return_visits.nth", { n: v.sequence })),
        el("td", {}, last ? label("call_outcome", last.outcome) + " · " + FS.fmtTime(last.at, "short") : "—"),
        el("td", {}, actions(v, row)));
      return row;
    },
    empty: t("return_visits.none"),
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
