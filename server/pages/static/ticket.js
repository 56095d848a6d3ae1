"use strict";
/* One ticket: who reported it and where, the asset and its warranty, the clocks,
   the owner and hand-over, status changes (cancelling asks for a reason), the jobs
   (reassign or cancel with a reason; a finished job's report, photos, signature
   and PDF), the contact log and the history. No raw ids or ISO times in view. */
(() => {
  const API = {
    ticket: "GET /api/v1/tickets/{id}",
    transition: "POST /api/v1/tickets/{id}/transitions",
    handover: "POST /api/v1/tickets/{id}/handover",
    owners: "GET /api/v1/tickets/handover-candidates",
    contacts: "GET /api/v1/tickets/{id}/contacts",
    addContact: "POST /api/v1/tickets/{id}/contacts",
    jobs: "GET /api/v1/jobs",
    technician: "GET /api/v1/technicians/{id}",
    candidates: "GET /api/v1/tickets/{id}/candidates",
    reassign: "POST /api/v1/jobs/{id}/reassign",
    cancelJob: "POST /api/v1/jobs/{id}/cancel",
    pdf: "GET /api/v1/jobs/{id}/report.pdf",
    signature: "GET /api/v1/jobs/{id}/signature.png",
    photos: "GET /api/v1/jobs/{id}/photos",
    expenses: "GET /api/v1/jobs/{id}/expenses",
    blob: "GET /api/v1/blobs/{sha}",
  };
  const { el, call, t } = FS;
  const root = document.getElementById("ticket");
  const id = root.dataset.ticketId;
  const allowed = JSON.parse(root.dataset.transitions);
  const office = () => ["admin", "dispatcher"].includes((FS.auth() || {}).role);
  let ticket = null;

  function warranty(a) {
    if (!a || !a.warranty_end) return t("tkt.warranty_none");
    const d = FS.fmtTime(a.warranty_end, "date");
    return a.under_warranty ? t("tkt.warranty_until", { d }) : t("tkt.warranty_ended", { d });
  }

  function details(tk) {
    const c = tk.customer || {}, s = tk.site || {}, a = tk.asset;
    const rows = [
      [t("field.customer"), c.name],
      [t("tkt.contact"), [c.contact_name, c.phone, c.email].filter(Boolean).join(" · ") || "—"],
      [t("field.site"), s.name], [t("tkt.address"), [s.city, s.address].filter(Boolean).join(" ")],
      [t("field.asset"), a ? FS.label("product_line", a.product_line) + " · " + a.model : "—"],
      [t("field.serial"), a ? a.serial_number : "—"], [t("tkt.warranty"), warranty(a)],
      [t("tkt.channel"), FS.label("channel", tk.channel)],
      [t("field.category"), FS.label("category", tk.category)
        + (tk.complaint_class ? " / " + FS.label("complaint_class", tk.complaint_class) : "")],
      [t("field.priority"), FS.label("priority", tk.priority)], [t("field.status"), FS.label("ticket_status", tk.status)],
      [t("tkt.received"), FS.fmtTime(tk.received_at)], [t("field.summary"), tk.summary],
      [t("tkt.description"), tk.description || "—"], [t("tkt.escalation"), String(tk.escalation_level)]];
    document.getElementById("details").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    document.getElementById("ticket-ref").textContent = tk.reference + " · " + tk.summary;
    document.getElementById("owner").textContent = tk.owner_name || "—";
    document.getElementById("handover").hidden = !office() || ["closed", "cancelled"].includes(tk.status);
    document.getElementById("dispatch-link").hidden = !office() || ["resolved", "closed", "cancelled"].includes(tk.status);
  }

  function clocks(tk) {
    const rows = [["clock.response", tk.response_due_at, tk.responded_at], ["clock.on_site", tk.on_site_due_at, tk.on_site_at],
      ["clock.resolve", tk.resolve_due_at, tk.resolved_at]];
    const stopped = tk.status === "cancelled";
    document.querySelector("#clocks tbody").replaceChildren(...rows.map(([name, due, done]) =>
      el("tr", {}, el("th", {}, t(name)), el("td", {}, t("clock.due", { t: FS.fmtTime(due) })),
         stopped && !done ? el("td", { class: "clock stopped" }, t("tkt.clock_stopped")) : FS.clockCell(due, done))));
  }

  /* A decision that needs a reason: show the box, run ``action(reason)`` on confirm. An action
     still finishing when the box was opened for the next decision leaves that box alone. */
  let confirming = 0;
  function confirmWithReason(action) {
    const mine = ++confirming;
    const box = document.getElementById("confirm-box");
    const reason = document.getElementById("confirm-reason");
    const error = document.getElementById("confirm-error");
    box.hidden = false; error.hidden = true; reason.value = ""; reason.focus();
    document.getElementById("confirm-no").onclick = () => { box.hidden = true; };
    document.getElementById("confirm-yes").onclick = async () => {
      const text = reason.value.trim();
      if (text.length < 3) { error.textContent = t("tkt.reason_needed"); error.hidden = false; return; }
      try {
        await action(text);
        if (mine === confirming) box.hidden = true;
      } catch (e) {
        if (mine === confirming) { error.textContent = FS.errorText(e); error.hidden = false; }
      }
    };
  }

  function transitions(tk) {
    const box = document.getElementById("transitions");
    const targets = office() ? (allowed[tk.status] || []) : [];
    box.replaceChildren(...targets.map((to) => {
      const cancel = to === "cancelled";
      return el("button", { type: "button", class: cancel ? "danger" : null, dataset: { to }, onclick: async () => {
        if (cancel) {
          confirmWithReason(async (note) => {
            render(await call(API.transition, { params: { id }, body: { to, note } }));
            FS.flash(t("tkt.ticket_cancelled"), "ok");
            jobs();
          });
          return;
        }
        try { render(await call(API.transition, { params: { id }, body: { to } }));
              FS.flash(t("tkt.moved_to", { s: FS.label("ticket_status", to) }), "ok"); }
        catch (e) { FS.flash(FS.errorText(e)); }
      } }, cancel ? t("tkt.cancel_ticket") : t("tkt.move_to", { s: FS.label("ticket_status", to) }));
    }));
    if (!targets.length) box.append(el("p", {}, t("tkt.no_further") + " (" + FS.label("ticket_status", tk.status) + ")"));
  }

  function render(tk) {
    ticket = tk;
    details(tk); clocks(tk); transitions(tk);
    document.getElementById("parts").replaceChildren(...(tk.needed_parts.length ? tk.needed_parts.map((p) =>
      el("li", {}, p.part_number + " × " + p.quantity)) : [el("li", {}, "—")]));
    document.querySelector("#history tbody").replaceChildren(...tk.events.map((e) => el("tr", {},
      el("td", {}, FS.fmtTime(e.at)), el("td", {}, FS.label("ticket_event", e.kind)),
      el("td", {}, e.from_status ? FS.label("ticket_status", e.from_status) : ""),
      el("td", {}, e.to_status ? FS.label("ticket_status", e.to_status) : ""),
      el("td", {}, e.by_name || ""), el("td", {}, FS.historyNote(e)))));
  }

  /* Whom a job can go to: the ranked candidates, and when nobody is in time, the soonest arrivals. */
  async function reassignOptions() {
    const report = await call(API.candidates, { params: { id } });
    return report.candidates.concat(report.late_candidates || []).filter((c, i, all) =>
      all.findIndex((x) => x.technician_id === c.technician_id) === i);
  }

  function jobActions(job, row) {
    if (["completed", "cancelled"].includes(job.status)) return finishedLinks(job);
    if (!office()) return "";
    const reassign = el("button", { type: "button", class: "reassign", onclick: async () => {
      let options;
      try { options = await reassignOptions(); } catch (e) { FS.flash(FS.errorText(e)); return; }
      const select = el("select", { class: "reassign-to", "aria-label": t("tkt.reassign_to") },
        options.filter((c) => c.technician_id !== job.technician_id).map((c) => el("option", { value: c.technician_id },
          c.late_by_minutes ? t("tkt.late_option", { name: c.name, t: FS.fmtTime(c.arrival_at),
                                                    d: FS.fmtDuration(c.late_by_minutes * 60000) })
                            : t("tkt.in_time_option", { name: c.name, t: FS.fmtTime(c.arrival_at) }))));
      row.querySelector(".actions").replaceChildren(el("label", {}, t("tkt.reassign_to") + " ", select));
      confirmWithReason(async (reason) => {
        // One reason box: it also explains an override (off shift, on leave, at the job limit, late),
        // which the server then records as such (it refuses one without a reason).
        await call(API.reassign, { params: { id: job.id }, body: { technician_id: select.value, reason,
                                                                     override_reason: reason } });
        FS.flash(t("tkt.reassigned"), "ok");
        await refresh();
      });
    } }, t("tkt.reassign"));
    const cancel = el("button", { type: "button", class: "danger cancel-job", onclick: () => confirmWithReason(async (reason) => {
      await call(API.cancelJob, { params: { id: job.id }, body: { reason } });
      FS.flash(t("tkt.job_cancelled"), "ok");
      await refresh();
    }) }, t("tkt.cancel_job"));
    return [reassign, " ", cancel];
  }

  /* A finished job's report, signature and photos (downloads: a link cannot carry the bearer token). */
  function finishedLinks(job) {
    if (job.status !== "completed") return "";
    const box = el("span", { class: "links" },
      el("button", { type: "button", class: "link", onclick: () => FS.download(API.pdf, { params: { id: job.id },
        accept: "application/pdf" }).catch((e) => FS.flash(FS.errorText(e))) }, t("tkt.report_pdf")), " ",
      el("button", { type: "button", class: "link", onclick: () => FS.download(API.signature, { params: { id: job.id },
        accept: "image/png" }).catch((e) => FS.flash(FS.errorText(e))) }, t("tkt.signature")));
    call(API.photos, { params: { id: job.id } }).then((page) => {
      box.append(" ", ...page.items.map((p, i) => el("button", { type: "button", class: "link", onclick: () =>
        FS.download(API.blob, { params: { sha: p.blob_sha256 } }).catch((e) => FS.flash(FS.errorText(e))) },
        t("tkt.photos", { n: i + 1 + "/" + page.items.length }))));
    }, () => {});
    return box;
  }

  async function jobs() {
    let page;
    const tbody = document.querySelector("#jobs tbody");
    try { page = await call(API.jobs, { query: { ticket_id: id } }); } catch (e) {
      if (e.status !== 403) throw e;  // warehouse staff do not see jobs
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 6 }, "—")));
      return;
    }
    const names = {};
    for (const j of page.items) {
      if (j.technician_id && !names[j.technician_id]) {
        names[j.technician_id] = await call(API.technician, { params: { id: j.technician_id } }).then((x) => x.name, () => "?");
      }
    }
    tbody.replaceChildren(...page.items.map((j) => {
      const row = el("tr", { dataset: { status: j.status } },
        el("td", {}, names[j.technician_id] || t("tkt.unassigned")), el("td", {}, FS.label("job_status", j.status)),
        el("td", {}, FS.fmtTime(j.planned_start) + (j.planned_end ? " – " + FS.fmtTime(j.planned_end) : "")),
        el("td", {}, FS.fmtTime(j.arrived_at)), el("td", {}, j.work_done || ""), el("td", { class: "actions" }));
      row.querySelector(".actions").append(...[jobActions(j, row)].flat());
      return row;
    }));
    if (!page.items.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 6 }, t("tkt.no_jobs"))));
    await expenses(page.items, names);
  }

  const yuan = (fen) => "¥" + (fen / 100).toFixed(2);

  /* The jobs' cost inputs (travel, transport, lodging, meals, other), from the handheld or the office:
     what the monthly report's costs add up. Amounts summed in fen. */
  async function expenses(jobList, names) {
    const tbody = document.querySelector("#expenses tbody");
    const rows = [];
    for (const j of jobList) {
      const list = await call(API.expenses, { params: { id: j.id } }).then((x) => x.items, () => []);
      for (const e of list) rows.push({ ...e, technician: names[j.technician_id] || t("tkt.unassigned") });
    }
    rows.sort((a, b) => (a.incurred_at < b.incurred_at ? -1 : a.incurred_at > b.incurred_at ? 1 : 0));
    const total = rows.reduce((sum, e) => sum + Math.round(e.amount * 100), 0);
    tbody.replaceChildren(...rows.map((e) => el("tr", { dataset: { kind: e.kind } },
      el("td", {}, FS.fmtTime(e.incurred_at, "short")), el("td", {}, e.technician),
      el("td", {}, FS.label("expense_kind", e.kind)), el("td", { class: "num" }, yuan(Math.round(e.amount * 100))),
      el("td", {}, [e.distance_km != null ? t("tkt.expense_km", { km: e.distance_km }) : "",
        e.travel_minutes != null ? t("tkt.expense_minutes", { m: e.travel_minutes }) : ""].filter(Boolean).join(" · ")),
      el("td", {}, e.note || ""))));
    if (!rows.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 6 }, t("tkt.no_expenses"))));
    document.getElementById("expenses-total").textContent = rows.length ? t("tkt.expense_total", { n: rows.length, total: yuan(total) }) : "";
  }

  async function contacts() {
    const tbody = document.querySelector("#contacts tbody");
    let log;
    try { log = await call(API.contacts, { params: { id } }); } catch (e) {
      document.getElementById("contact-form").hidden = true;
      tbody.replaceChildren(el("tr", {}, el("td", { colspan: 7 }, "—")));
      return;
    }
    tbody.replaceChildren(...log.items.map((c) => el("tr", {},
      el("td", {}, FS.fmtTime(c.at)), el("td", {}, FS.label("contact_kind", c.kind)),
      el("td", {}, c.kind === "note" ? "—" : t(c.inbound ? "tkt.inbound" : "tkt.outbound")),
      el("td", {}, c.person || "—"), el("td", {}, c.phone || "—"), el("td", {}, c.note), el("td", {}, c.by_name || ""))));
    if (!log.items.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: 7 }, t("tkt.no_contacts"))));
  }

  async function refresh() {
    render(await call(API.ticket, { params: { id } }));
    await Promise.all([jobs(), contacts()]);
  }

  document.getElementById("contact-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { kind: form.elements.kind.value, inbound: form.elements.inbound.value === "true",
                   note: form.elements.note.value.trim() };
    for (const name of ["person", "phone"]) if (form.elements[name].value.trim()) body[name] = form.elements[name].value.trim();
    try { await call(API.addContact, { params: { id }, body }); form.reset(); FS.flash(t("tkt.logged"), "ok"); await contacts(); }
    catch (e) { FS.flash(FS.errorText(e)); }
  });

  /* The hand-over picker: office users found by part of their name or username; picking one fills the form. */
  const picker = { asked: 0, timer: null };
  const search = document.getElementById("h-search");
  const chosen = document.getElementById("h-chosen");
  const list = document.getElementById("h-candidates");

  function choose(user) {
    document.getElementById("h-user").value = user ? user.username : "";
    chosen.hidden = !user;
    chosen.textContent = user ? t("tkt.handover_chosen", { name: user.display_name + "（" + user.username + "）" }) : "";
    if (user) { search.value = user.display_name; list.hidden = true; }
  }

  async function findOwners() {
    const mine = ++picker.asked;
    const q = search.value.trim();
    let page;
    try { page = await call(API.owners, { query: { limit: 20, ...(q ? { q } : {}) } }); }
    catch (e) { if (mine === picker.asked) FS.flash(FS.errorText(e)); return; }
    if (mine !== picker.asked) return;  // a later search is under way
    const others = page.items.filter((u) => !ticket || u.id !== ticket.owner_id);
    list.replaceChildren(...(others.length ? others.map((u) => el("li", {}, el("button", {
      type: "button", class: "link pick-owner", dataset: { username: u.username }, onclick: () => choose(u) },
      u.display_name + "（" + u.username + " · " + FS.label("role", u.role) + "）")))
      : [el("li", { class: "hint" }, t("tkt.handover_none"))]));
    list.hidden = false;
  }

  search.addEventListener("input", () => {
    choose(null);
    clearTimeout(picker.timer);
    picker.timer = setTimeout(findOwners, 200);
  });
  search.addEventListener("focus", () => { if (!document.getElementById("h-user").value) findOwners(); });

  document.getElementById("handover").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    // The pick, or else what was typed (the server says whether that is an office user).
    const to = form.elements.to_username.value || search.value.trim();
    if (!to) { FS.flash(t("tkt.handover_pick")); return; }
    try {
      render(await call(API.handover, { params: { id }, body: { to_username: to, reason: form.elements.reason.value.trim() } }));
      form.reset();
      choose(null);
      list.hidden = true;
      FS.flash(t("tkt.handed_over"), "ok");
    } catch (e) { FS.flash(FS.errorText(e)); }
  });

  refresh().catch((e) => FS.flash(FS.errorText(e)));
})();
