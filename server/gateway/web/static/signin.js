// Sign-in: keep the token in this browser once the API accepts it.
"use strict";

document.getElementById("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = document.getElementById("token").value.trim();
  Dw.setToken(value);
  try {
    // Any authenticated call proves the token; a listing of one run is the cheapest.
    await Dw.call("/api/v1/workflow/run/list", { page_size: 1 });
  } catch (error) {
    Dw.setToken("");
    Dw.notify(`Sign-in refused: ${error.message}`, "error");
    return;
  }
  const next = new URLSearchParams(location.search).get("next");
  // Only a path of this UI: never an address elsewhere.
  location.href = next && next.startsWith(Dw.prefix + "/") && !next.startsWith("//") ? next : Dw.prefix + "/runs";
});
