// Sign-in: with a token, or with a user name and password that the API's login path
// exchanges for a login token. Either way only the token is kept in this browser (once
// the API accepts it); the password lives in its input field until the exchange and is
// then cleared, never stored.
"use strict";

const LOGIN = "/api/paddleflow/v1/login";

// Keeps `value` as the token if the API accepts it, then goes where the user was headed.
async function useToken(value) {
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
}

document.getElementById("signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  await useToken(document.getElementById("token").value.trim());
});

document.getElementById("password-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = document.getElementById("password");
  const username = document.getElementById("username").value.trim();
  // A new sign-in replaces whoever was signed in: the login is sent without a token.
  Dw.setToken("");
  let answer;
  try {
    answer = await Dw.call(LOGIN, { username, password: password.value });
  } catch (error) {
    // The API's own refusal (PaddleFlow's {code, message}), e.g. AuthFailed's.
    Dw.notify(`Sign-in refused: ${error.message}`, "error");
    return;
  } finally {
    password.value = "";
  }
  await useToken(answer.authorization || "");
});
