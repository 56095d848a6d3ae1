"use strict";
(() => {
  const { el } = FS;
  const form = document.getElementById("filters");
  const list = FS.pager({
    tbody: document.querySelector("#customers tbody"), more: document.getElementById("more"),
    load: (cursor) => FS.api("/api/v1/customers?" + FS.formQuery(form, { limit: 50, cursor })),
    render: (c) => el("tr", {},
      el("td", {}, el("a", { href: "/customers/" + c.id }, c.name)), el("td", {}, c.contact_name || ""), el("td", {}, c.phone || ""),
      el("td", {}, c.address || ""),
      el("td", {}, el("a", { href: "/?status=&customer_id=" + c.id }, FS.t("customers.tickets_link")))),
    empty: FS.t("customers.empty"),
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); list.reload(); });
  list.reload();
})();
