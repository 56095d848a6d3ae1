"use strict";
(() => {
  const OPEN = ["new", "acknowledged", "dispatched", "on_site"];
  const form = document.getElementById("filters");
  const params = new URLSearchParams(location.search);
  for (const [name, value] of params) {  // filters survive a reload and can be linked to
    const field = form.elements[name];
    if (field && field.type === "checkbox") field.checked = value === "true";
    else if (field) field.value = value;
  }

  function query(cursor) {
    const q = FS.formQuery(form, { limit: 50, cursor });
    if (q.get("status") === "open") { q.delete("status"); OPEN.forEach((s) => q.append("status", s)); }
    if (q.get("mine")) { q.delete("mine"); q.set("owner_id", (FS.auth() || {}).user_id || ""); }
    const customer = params.get("customer_id");
    if (customer) q.set("customer_id", customer);
    return q;
  }

  function row(t) {
    const { el } = FS;
    return el("tr", { class: t.escalation_level ? "escalated" : null },
      el("td", {}, el("a", { href: "/tickets/" + t.id }, t.reference)),
      el("td", {}, t.customer_name), el("td", {}, t.site_city || ""),
      el("td", {}, FS.label("category", t.category) + (t.complaint_class ? " / " + FS.label("complaint_class", t.complaint_class) : "")),
      el("td", { class: "prio " + t.priority }, FS.label("priority", t.priority)),
      el("td", {}, FS.label("ticket_status", t.status)),
      FS.clockCell(t.response_due_at, t.responded_at),
      FS.clockCell(t.on_site_due_at, t.on_site_at),
      FS.clockCell(t.resolve_due_at, t.resolved_at),
      el("td", {}, t.escalation_level ? "▲" + t.escalation_level : ""));
  }

  const list = FS.pager({
    tbody: document.querySelector("#board tbody"), more: document.getElementById("more"),
    load: (cursor) => FS.api("/api/v1/tickets?" + query(cursor)), render: row, empty: FS.t("board.empty"),
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    history.replaceState(null, "", "?" + FS.formQuery(form));
    list.reload();
  });
  list.reload();
  setInterval(() => { if (!document.hidden) list.reload(); }, 60000);  // the clocks keep running
})();
