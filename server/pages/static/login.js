"use strict";
document.getElementById("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const username = document.getElementById("username").value.trim();
  const password = document.getElementById("password").value;
  try {
    const body = await FS.api("/api/v1/auth/token", { method: "POST", body: { username, password }, noRedirect: true });
    FS.saveAuth({ token: body.access_token, username, role: body.role, user_id: body.user_id,
                 expires_at: body.expires_at });
    const next = new URLSearchParams(location.search).get("next");
    location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
  } catch (e) {
    FS.flash(e.code === "device_required" ? FS.t("login.technicians_use_app") : FS.errorText(e));
  }
});
