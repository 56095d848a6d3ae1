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
  const KINDS = { field_conflict: "字段冲突 both sides changed a field",
                  cancelled_while_worked: "取消后仍在作业 cancelled while the technician worked",
                  reassigned_while_worked: "改派后仍在作业 reassigned while the technician worked" };
  const names = new Map();
  let cursor = null;

  function show(value) {
    if (value === null || value === undefined) return "—";
    return typeof value === "string" ? value : JSON.stringify(value);
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
      const custom = el("input", { type: "text", "aria-label": "value for " + name, hidden: true,
        value: show(side.kept === "device" ? side.device : side.server) });
      const select = el("select", { "aria-label": "settle " + name, disabled: fixed || c.status !== "open",
        onchange: () => { custom.hidden = select.value !== "custom"; choices[name] = pick(); } },
        el("option", { value: "server", selected: side.kept !== "device" }, "服务器 server"),
        el("option", { value: "device", selected: side.kept === "device" }, "设备 device"),
        el("option", { value: "custom" }, "设定 set…"));
      function pick() {
        if (select.value === "custom") return { custom: true, get value() { return typed(custom.value, side.server ?? side.device); } };
        return { side: select.value };
      }
      choices[name] = pick();
      const kept = (which) => (side.kept === which ? "kept" : null);
      const value = (which) => {
        const td = el("td", { class: kept(which) }, show(side[which]));
        if (fixed && side[which]) {  // a technician: by name
          nameOf(API.technician, side[which], (t) => t.name).then((n) => { td.textContent = n + " (" + side[which].slice(0, 8) + ")"; });
        }
        return td;
      };
      return el("tr", {}, el("th", {}, name), value("server"), value("device"),
        el("td", {}, side.kept === "device" ? "设备 device" : "服务器 server"),
        el("td", {}, fixed ? el("span", { class: "small" }, "reassignment stands") : [select, " ", custom]));
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

  function card(c) {
    const choices = {};
    const note = el("input", { type: "text", placeholder: "备注 note (optional)", maxlength: 2000, "aria-label": "note" });
    const who = el("span", {}, "…");
    const record = el("span", {}, c.table + " " + c.record_id.slice(0, 8));
    nameOf(API.technician, c.technician_id, (t) => t.name).then((n) => { who.textContent = n; });
    if (c.table === "jobs") {
      call(API.job, { params: { id: c.record_id } }).then((job) => {
        record.replaceChildren(el("a", { href: "/tickets/" + job.ticket_id }, "job " + c.record_id.slice(0, 8)
          + " (" + FS.label("job_status", job.status) + ")"));
      }, () => {});
    }
    const settle = async (body) => {
      if (note.value.trim()) body.note = note.value.trim();
      try {
        const done = await call(API.resolve, { params: { id: c.id }, body });
        node.replaceWith(card(done));
        FS.flash("已处理 Settled (" + body.keep + ")", "ok");
      } catch (e) { FS.flash(FS.errorText(e)); }
    };
    const open = c.status === "open";
    const node = el("section", { class: "card conflict", dataset: { conflictId: c.id } },
      el("h2", {}, el("span", { class: "pill " + c.status }, FS.label("conflict_status", c.status)), " ", KINDS[c.kind] || c.kind),
      el("p", { class: "small" }, record, " · 技术人员 technician: ", who, " · device edit from version "
        + show(c.base_version) + " → now " + show(c.version) + " · " + FS.fmtTime(c.created_at)),
      el("table", { class: "grid values" },
        el("thead", {}, el("tr", {}, ["字段 Field", "服务器 Server", "设备 Device", "现保留 Kept now", "处理 Settle"]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, fieldRows(c, choices))),
      open ? el("div", { class: "actions" },
        el("button", { type: "button", class: "secondary", onclick: () => settle(settlement(c, choices, "server")) },
          "采用服务器值 Keep server values"),
        el("button", { type: "button", class: "secondary", onclick: () => settle({ keep: "device" }) },
          "采用设备值 Keep device values"),
        el("button", { type: "button", onclick: () => settle(settlement(c, choices)) },
          "按所选处理 Settle as chosen"), note)
        : el("p", { class: "small" }, "已处理 Settled " + FS.fmtTime(c.resolved_at) + ": "
          + show(c.resolution && c.resolution.keep) + " " + show(c.resolution && c.resolution.values)));
    return node;
  }

  async function load(reset) {
    if (reset) { cursor = null; box.replaceChildren(); }
    const query = { status: form.elements.status.value, limit: 20 };
    if (cursor) query.cursor = cursor;
    try {
      const page = await call(API.list, { query });
      box.append(...page.items.map(card));
      if (!box.children.length) box.append(el("p", { class: "card" }, "没有冲突 No conflicts."));
      cursor = page.next_cursor;
      more.hidden = !page.has_more;
      if (reset) FS.flash("");
    } catch (e) { FS.flash(FS.errorText(e)); }
  }

  more.addEventListener("click", () => load(false));
  form.addEventListener("submit", (event) => { event.preventDefault(); load(true); });
  load(true);
})();
