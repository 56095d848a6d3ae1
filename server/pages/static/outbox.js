"use strict";
/* The notification outbox: what was sent to whom, each delivery's tries, and redelivery. */
(() => {
  const API = {
    list: "GET /api/v1/notifications",
    redeliver: "POST /api/v1/notifications/deliveries/{id}/redeliver",
    webhooks: "GET /api/v1/notifications/webhooks",
    addWebhook: "POST /api/v1/notifications/webhooks",
    editWebhook: "PATCH /api/v1/notifications/webhooks/{id}",
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

  // Webhook endpoints: admins only (the API refuses others; the section stays hidden for them).
  const auth = FS.auth();
  if (auth && auth.role === "admin") {
    document.getElementById("webhooks-section").hidden = false;
    const hooks = FS.pager({
      tbody: document.querySelector("#webhooks tbody"), more: el("button", { hidden: true }),
      load: (cursor) => call(API.webhooks, { query: Object.assign({ limit: 100 }, cursor ? { cursor } : {}) }),
      render: (w) => el("tr", { dataset: { webhookId: w.id } }, el("td", {}, w.name), el("td", {}, w.url),
        el("td", {}, w.kinds.length ? w.kinds.join(" ") : t("app.all")),
        el("td", {}, w.active ? t("outbox.webhook_on") : t("outbox.webhook_off")),
        el("td", {}, el("button", { type: "button", class: "toggle-webhook", onclick: async () => {
          try { await call(API.editWebhook, { params: { id: w.id }, body: { active: !w.active } }); await hooks.reload(); }
          catch (e) { FS.flash(FS.errorText(e)); }
        } }, w.active ? t("outbox.webhook_disable") : t("outbox.webhook_enable")))),
      empty: t("outbox.no_webhooks"),
    });
    document.getElementById("new-webhook").addEventListener("submit", async (event) => {
      event.preventDefault();
      const kinds = document.getElementById("w-kinds").value.split(/[\s,]+/).filter(Boolean);
      try {
        const made = await call(API.addWebhook, { body: { name: document.getElementById("w-name").value,
                                                          url: document.getElementById("w-url").value, kinds } });
        event.target.reset();
        await hooks.reload();
        const secret = document.getElementById("webhook-secret");
        secret.textContent = t("outbox.webhook_secret", { secret: made.secret });
        secret.hidden = false;
      } catch (e) { FS.flash(FS.errorText(e)); }
    });
    hooks.reload();
  }
})();
