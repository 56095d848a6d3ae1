"use strict";
(() => {
  const API = {
    list: "GET /api/v1/technicians",
    onCall: "GET /api/v1/technicians/{id}/on-call",
    addOnCall: "POST /api/v1/technicians/{id}/on-call",
    removeOnCall: "DELETE /api/v1/technicians/{id}/on-call/{period_id}",
  };
  const { el, call, t } = FS;
  const DAYS = [0, 1, 2, 3, 4, 5, 6].map((d) => t("weekday." + d));
  const form = document.getElementById("filters");
  const section = document.getElementById("on-call");
  const onCallForm = document.getElementById("on-call-form");
  const errorBox = document.getElementById("on-call-error");
  const auth = FS.auth() || {};
  // The roles the API lets set duty (the form carries them); everyone else reads it.
  const canEdit = onCallForm.dataset.roles.split(" ").includes(auth.role);
  let chosen = null;  // the technician whose duty is shown

  function shifts(slots) {
    return slots.map((s) => DAYS[s.weekday] + " " + s.starts.slice(0, 5) + "–" + s.ends.slice(0, 5)).join(", ");
  }

  const list = FS.pager({
    tbody: document.querySelector("#technicians tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: FS.formQuery(form, { limit: 50, cursor }) }),
    render: (x) => el("tr", { class: x.active ? null : "inactive", dataset: { technicianId: x.id } },
      el("td", {}, x.name), el("td", {}, x.username), el("td", {}, x.phone || ""),
      el("td", {}, x.certifications.map((c) => el("span", { class: "cert " + (c.valid ? "valid" : "expired"),
        title: FS.fmtTime(c.certified_on, "date") + " → " + FS.fmtTime(c.expires_on, "date") }, FS.label("product_line", c.product_line)))),
      el("td", { class: "small" }, shifts(x.shifts)), el("td", {}, String(x.max_open_jobs)),
      el("td", {}, x.last_position_at ? FS.fmtTime(x.last_position_at) : "—"),
      el("td", {}, el("button", { type: "button", class: "on-call-show", onclick: () => show(x) },
        t("technicians.on_call_show")))),
    empty: t("app.nothing"),
  });

  function fail(e) { errorBox.textContent = FS.errorText(e); errorBox.hidden = false; }

  /* A period's row; an editor removes it after confirming in the row. */
  function periodRow(p) {
    const actions = el("td", {});
    const ask = () => actions.replaceChildren(el("span", {}, t("technicians.on_call_confirm_remove"), " "),
      el("button", { type: "button", class: "on-call-confirm", onclick: () => remove(p) }, t("app.confirm")), " ",
      el("button", { type: "button", class: "on-call-keep", onclick: idle }, t("app.cancel")));
    const idle = () => actions.replaceChildren(canEdit
      ? el("button", { type: "button", class: "on-call-remove", onclick: ask }, t("technicians.on_call_remove")) : "");
    idle();
    return el("tr", { dataset: { periodId: p.id } }, el("td", {}, FS.fmtTime(p.starts_at)),
      el("td", {}, FS.fmtTime(p.ends_at)), el("td", {}, p.note || ""), actions);
  }

  const periods = FS.pager({
    tbody: document.querySelector("#on-call-periods tbody"), more: document.getElementById("on-call-more"),
    load: (cursor) => call(API.onCall, { params: { id: chosen.id },
      query: { ends_after: new Date().toISOString(), limit: 50, ...(cursor ? { cursor } : {}) } }),
    render: periodRow,
    empty: t("technicians.on_call_none"),
  });

  function show(x) {
    chosen = x;
    document.getElementById("on-call-title").textContent = t("technicians.on_call_title", { name: x.name });
    section.hidden = false;
    onCallForm.hidden = !canEdit;
    errorBox.hidden = true;
    periods.reload();
    section.scrollIntoView({ block: "nearest" });
  }

  async function remove(p) {
    errorBox.hidden = true;
    try {
      await call(API.removeOnCall, { params: { id: chosen.id, period_id: p.id } });
      await periods.reload();
      FS.flash(t("technicians.on_call_removed"), "ok");
    } catch (e) { fail(e); }
  }

  onCallForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const start = document.getElementById("oc-start").value;
    const end = document.getElementById("oc-end").value;
    const note = document.getElementById("oc-note").value.trim();
    const body = { starts_at: FS.zonedInstant(start).toISOString(), ends_at: FS.zonedInstant(end).toISOString() };
    if (note) body.note = note;
    const button = document.getElementById("oc-add");
    button.disabled = true;
    try {
      await call(API.addOnCall, { params: { id: chosen.id }, body });
      onCallForm.reset();
      await periods.reload();
      FS.flash(t("technicians.on_call_added"), "ok");
    } catch (e) { fail(e); } finally { button.disabled = false; }
  });

  form.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
