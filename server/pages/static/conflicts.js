"use strict";
/* Sync conflicts: both values of every clashing field, and settling them
   (keep the server's record as it is, take the device's values, or set values). */
(() => {
  const API = {
    list: "GET /api/v1/sync/conflicts",
    resolve: "POST /api/v1/sync/conflicts/{id}/resolve",
    job: "GET /api/v1/jobs/{id}",
    technician: "GET /api/v1/technicians/{id}",
  };
  const { el, call } = FS;
  const form = document.getElementById("filters");
  const box = document.getElementById("conflicts");
  const more = document.getElementById("more");
  // The labels of a field's stored values (the others are shown as they are; times in the company's zone).
  const VALUE_KINDS = { status: "job_status", priority: "priority", customer_rating: "customer_rating",
                        no_signature_reason: "no_signature_reason" };
  const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const names = new Map();
  let cursor = null;

  /* A value as its field's editor would type it (the "set…" box). */
  function show(value) {
    if (value === null || value === undefined) return "—";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  /* A value as a person reads it: a stored value's label, a time in the company's zone, a short id. */
  function readable(value, name) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string" && VALUE_KINDS[name]) return FS.label(VALUE_KINDS[name], value);
    if (typeof value === "string" && ISO.test(value)) return FS.fmtTime(value, "seconds");
    if (typeof value === "string" && UUID.test(value)) return value.slice(0, 8);
    if (typeof value === "boolean") return FS.t(value ? "app.yes" : "app.no");
    return show(value);
  }

  /* A known field's name in the reader's language, else the field's own name. */
  function fieldName(name) {
    const key = "conflicts.field." + name;
    const text = FS.t(key);
    return text === key ? name : text;
  }

  /* A value typed by a person, read as the type of the values it replaces. */
  function typed(text, like) {
    if (typeof like === "number") { const n = Number(text); return text.trim() !== "" && !Number.isNaN(n) ? n : text; }
    if (typeof like === "boolean") return text === "true" ? true : text === "false" ? false : text;
    if (text === "" && like === null) return null;
    return text;
  }

  async function nameOf(spec, objectId, pick) {
    if (!objectId) return "—";
    const key = spec + objectId;
    if (!names.has(key)) names.set(key, call(spec, { params: { id: objectId } }).then(pick, () => objectId.slice(0, 8)));
    return names.get(key);
  }

  function fieldRows(c, choices) {
    return Object.entries(c.fields).map(([name, side]) => {
      const fixed = name === "technician_id";  // a reassignment stands; reassign from the ticket's dispatch page
      const custom = el("input", { type: "text", dataset: { field: name }, "aria-label": FS.t("conflicts.value_for", { field: fieldName(name) }), hidden: true,
        value: show(side.kept === "device" ? side.device : side.server) });
      const select = el("select", { dataset: { field: name }, "aria-label": FS.t("conflicts.settle_field", { field: fieldName(name) }), disabled: fixed || c.status !== "open",
        onchange: () => { custom.hidden = select.value !== "custom"; choices[name] = pick(); } },
        el("option", { value: "server", selected: side.kept !== "device" }, FS.t("conflicts.server")),
        el("option", { value: "device", selected: side.kept === "device" }, FS.t("conflicts.device")),
        el("option", { value: "custom" }, FS.t("conflicts.set")));
      function pick() {
        if (select.value === "custom") return { custom: true, get value() { return typed(custom.value, side.server ?? side.device); } };
        return { side: select.value };
      }
      choices[name] = pick();
      const kept = (which) => (side.kept === which ? "kept" : null);
      const value = (which) => {
        const td = el("td", { class: kept(which) }, readable(side[which], name));
        if (fixed && side[which]) {  // a technician: by name
          nameOf(API.technician, side[which], (t) => t.name).then((n) => { td.textContent = n; });
        }
        return td;
      };
      return el("tr", {}, el("th", {}, fieldName(name)), value("server"), value("device"),
        el("td", {}, FS.t(side.kept === "device" ? "conflicts.device" : "conflicts.server")),
        el("td", {}, fixed ? el("span", { class: "small" }, FS.t("conflicts.reassignment_stands")) : [select, " ", custom]));
    });
  }

  /* What to send: the values of the fields whose chosen value differs from what the
     record holds now. When nothing differs the record stays as merged: "keep" the side
     every field already holds, or (sides mixed) set each field to the value it has. */
  function settlement(c, choices, everything) {
    const values = {}, current = {}, sides = new Set();
    for (const [name, side] of Object.entries(c.fields)) {
      if (name === "technician_id") continue;
      const choice = everything ? { side: everything } : choices[name];
      const now = side.kept === "device" ? side.device : side.server;
      const wanted = choice.custom ? choice.value : choice.side === "device" ? side.device : side.server;
      if (JSON.stringify(wanted) !== JSON.stringify(now)) values[name] = wanted;
      current[name] = now;
      sides.add(side.kept === "device" ? "device" : "server");
    }
    if (Object.keys(values).length) return { keep: "values", values };
    if (sides.size <= 1) return { keep: sides.has("device") ? "device" : "server" };
    return { keep: "values", values: current };
  }

  /* How a settled conflict was settled: which side, and the values set. */
  function resolution(r) {
    if (!r || !r.keep) return "—";
    const values = Object.entries(r.values || {}).map(([name, v]) => fieldName(name) + " = " + readable(v, name));
    return FS.t("conflicts.keep." + r.keep) + (values.length ? " (" + values.join(", ") + ")" : "");
  }

  function card(c) {
    const choices = {};
    const note = el("input", { type: "text", placeholder: FS.t("conflicts.note_placeholder"), maxlength: 2000,
                          "aria-label": FS.t("conflicts.note") });
    const who = el("span", {}, "…");
    const record = el("span", {}, FS.label("sync_table", c.table) + " " + c.record_id.slice(0, 8));
    nameOf(API.technician, c.technician_id, (t) => t.name).then((n) => { who.textContent = n; });
    if (c.table === "jobs") {
      call(API.job, { params: { id: c.record_id } }).then((job) => {
        record.replaceChildren(el("a", { href: "/tickets/" + job.ticket_id }, FS.t("conflicts.job_link",
          { id: c.record_id.slice(0, 8), status: FS.label("job_status", job.status) })));
      }, () => {});
    }
    const settle = async (body) => {
      if (note.value.trim()) body.note = note.value.trim();
      try {
        const done = await call(API.resolve, { params: { id: c.id }, body });
        node.replaceWith(card(done));
        FS.flash(FS.t("conflicts.settled_as", { keep: FS.t("conflicts.keep." + body.keep) }), "ok");
      } catch (e) { FS.flash(FS.errorText(e)); }
    };
    const open = c.status === "open";
    const node = el("section", { class: "card conflict", dataset: { conflictId: c.id } },
      el("h2", {}, el("span", { class: "pill " + c.status }, FS.label("conflict_status", c.status)), " ", FS.label("conflict_kind", c.kind)),
      el("p", { class: "small" }, record, " · " + FS.t("field.technician") + ": ", who, " · "
        + FS.t("conflicts.versions", { base: show(c.base_version), now: show(c.version) }) + " · " + FS.fmtTime(c.created_at)),
      el("table", { class: "grid values" },
        el("thead", {}, el("tr", {}, ["field", "server_value", "device_value", "kept_now", "settle"]
          .map((h) => el("th", {}, FS.t("conflicts.col." + h))))),
        el("tbody", {}, fieldRows(c, choices))),
      open ? el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", onclick: () => settle(settlement(c, choices, "server")) },
          FS.t("conflicts.keep_server")),
        el("button", { type: "button", class: "secondary", onclick: () => settle({ keep: "device" }) },
          FS.t("conflicts.keep_device")),
        el("button", { type: "button", onclick: () => settle(settlement(c, choices)) },
          FS.t("conflicts.settle_as_chosen")), note)
        : el("p", { class: "small" }, FS.t("conflicts.settled_at", { t: FS.fmtTime(c.resolved_at) }) + ": "
          + resolution(c.resolution)));
    return node;
  }

  async function load(reset) {
    if (reset) { cursor = null; box.replaceChildren(); }
    const query = { status: form.elements.status.value, limit: 20 };
    if (cursor) query.cursor = cursor;
    try {
      const page = await call(API.list, { query });
      box.append(...page.items.map(card));
      if (!box.children.length) box.append(el("p", { class: "card" }, FS.t("conflicts.empty")));
      cursor = page.next_cursor;
      more.hidden = !page.has_more;
      if (reset) FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  more.addEventListener("click", () => load(false));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(true); });
  load(true);
})();
