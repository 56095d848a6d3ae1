"use strict";
/* The notification outbox: what was sent to whom, each delivery's tries, and redelivery. */
(() => {
  const API = {
    list: "GET /api/v1/notifications",
    redeliver: "POST /api/v1/notifications/deliveries/{id}/redeliver",
  };
  const { el, call, t, label } = FS;
  const form = document.getElementById("filters");

  function delivery(d) {
    const target = d.channel === "email" ? (d.address || t("outbox.managers")) : (d.endpoint_name || "webhook");
    const last = d.attempt_log.length ? d.attempt_log[d.attempt_log.length - 1] : null;
    return el("li", { class: "delivery " + d.status, dataset: { deliveryId: d.id } },
      label("notify_channel", d.channel) + " · " + target + " · " + label("delivery_status", d.status),
      " ", t("outbox.tries", { n: d.attempts }),
      last && !last.ok ? el("div", { class: "small" }, FS.fmtTime(last.at, "seconds") + " " + (last.error || "")) : null,
      d.status !== "pending" ? el("button", { type: "button", class: "redeliver", onclick: async () => {
        try {
          await call(API.redeliver, { params: { id: d.id } });
          await list.reload();
          FS.flash(t("outbox.requeued"), "ok");
        } catch (e) { FS.flash(FS.errorText(e)); }
      } }, t("outbox.redeliver")) : null);
  }

  const list = FS.pager({
    tbody: document.querySelector("#outbox tbody"), more: document.getElementById("more"),
    load: (cursor) => call(API.list, { query: Object.assign({ limit: 50 },
      document.getElementById("f-undelivered").checked ? { undelivered: "true" } : {}, cursor ? { cursor } : {}) }),
    render: (n) => el("tr", { dataset: { notificationId: n.id } }, el("td", {}, FS.fmtTime(n.created_at)),
      el("td", {}, label("notify_kind", n.kind)), el("td", {}, label("notify_audience", n.audience)),
      el("td", { title: n.body }, n.subject),
      el("td", {}, n.deliveries.length ? el("ul", { class: "reasons" }, n.deliveries.map(delivery)) : t("outbox.none_needed"))),
    empty: t("outbox.empty"),
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
