"use strict";
(() => {
  const { el, api } = FS;
  const root = document.getElementById("ticket");
  const id = root.dataset.ticketId;
  const allowed = JSON.parse(root.dataset.transitions);

  function details(t) {
    const rows = [["Customer", t.customer_name], ["Channel", t.channel],
      ["Category", t.category + (t.complaint_class ? " / " + t.complaint_class : "")], ["Priority", t.priority],
      ["Status", t.status], ["Received", FS.fmtTime(t.received_at)], ["Summary", t.summary],
      ["Description", t.description || "—"], ["Escalation", String(t.escalation_level)], ["Version", String(t.version)]];
    document.getElementById("details").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    document.getElementById("ticket-ref").textContent = t.reference + " · " + t.summary;
  }

  function clocks(t) {
    const rows = [["响应 Response", t.response_due_at, t.responded_at], ["到场 On site", t.on_site_due_at, t.on_site_at],
      ["解决 Resolve", t.resolve_due_at, t.resolved_at]];
    document.querySelector("#clocks tbody").replaceChildren(...rows.map(([name, due, done]) =>
      el("tr", {}, el("th", {}, name), el("td", {}, "due " + FS.fmtTime(due)), FS.clockCell(due, done))));
  }

  function transitions(t) {
    const box = document.getElementById("transitions");
    const office = ["admin", "dispatcher"].includes((FS.auth() || {}).role);
    const targets = office ? (allowed[t.status] || []) : [];
    box.replaceChildren(...targets.map((to) => el("button", { type: "button", onclick: async () => {
      try { render(await api("/api/v1/tickets/" + id + "/transitions", { method: "POST", body: { to } }));
            FS.flash("Moved to " + to, "ok"); } catch (e) { FS.flash(e.message); }
    } }, "→ " + to)));
    if (!targets.length) box.append(el("p", {}, office ? "No further status (" + t.status + ")." : t.status));
  }

  function render(t) {
    details(t); clocks(t); transitions(t);
    document.getElementById("parts").replaceChildren(...(t.needed_parts.length ? t.needed_parts.map((p) =>
      el("li", {}, p.part_number + " × " + p.quantity)) : [el("li", {}, "—")]));
    document.querySelector("#history tbody").replaceChildren(...t.events.map((e) => el("tr", {},
      el("td", {}, FS.fmtTime(e.at)), el("td", {}, e.kind), el("td", {}, e.from_status || ""),
      el("td", {}, e.to_status || ""), el("td", {}, e.note || ""))));
  }

  async function jobs() {
    let page;
    try { page = await api("/api/v1/jobs?ticket_id=" + id); } catch (e) {
      if (e.status !== 403) throw e;  // warehouse staff do not see jobs
      document.querySelector("#jobs tbody").replaceChildren(el("tr", {}, el("td", { colspan: 5 }, "—")));
      return;
    }
    const names = {};
    for (const j of page.items) {
      if (j.technician_id && !names[j.technician_id]) {
        names[j.technician_id] = await api("/api/v1/technicians/" + j.technician_id).then((x) => x.name, () => "?");
      }
    }
    const tbody = document.querySelector("#jobs tbody");
    tbody.replaceChildren(...page.items.map((j) => el("tr", {},
      el("td", {}, names[j.technician_id] || "unassigned"), el("td", {}, j.status),
      el("td", {}, FS.fmtTime(j.planned_start) + " – " + FS.fmtTime(j.planned_end)),
      el("td", {}, FS.fmtTime(j.arrived_at)), el("td", {}, j.work_done || ""))));
    if (!page.items.length) tbody.append(el("tr", {}, el("td", { colspan: 5 }, "No jobs yet.")));
  }

  api("/api/v1/tickets/" + id).then(render).then(jobs).catch((e) => FS.flash(e.message));
})();
