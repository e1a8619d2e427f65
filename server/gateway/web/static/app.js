// dagwire's web UI: what every page shares. Every call goes to the gateway's own API
// with the signed-in token as the `Token` header, so the server's authenticator and
// tenancy rules decide what the page may see and do; nothing here decides it.
"use strict";

const Dw = (() => {
  const TOKEN_KEY = "dagwire.token";
  const body = document.body;
  const prefix = body.dataset.prefix || "/ui";

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  function token() {
    return localStorage.getItem(TOKEN_KEY) || "";
  }

  function setToken(value) {
    if (value) localStorage.setItem(TOKEN_KEY, value);
    else localStorage.removeItem(TOKEN_KEY);
  }

  function headers() {
    const result = { "Content-Type": "application/json" };
    const value = token();
    if (value) result.Token = value;
    return result;
  }

  // The API's own words for a refusal: grpc-gateway's {code, message} or Kuscia's
  // in-band {status: {code, message}}.
  function messageOf(doc, status) {
    if (doc && typeof doc.message === "string" && doc.message) return doc.message;
    if (doc && doc.status && doc.status.message) return doc.status.message;
    return `HTTP ${status}`;
  }

  async function call(path, request) {
    const response = await fetch(path, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(request || {}),
    });
    let doc = null;
    try {
      doc = await response.json();
    } catch (error) {
      throw new ApiError(`HTTP ${response.status}`, response.status);
    }
    if (!response.ok) {
      if (response.status === 401) showSignIn();
      throw new ApiError(messageOf(doc, response.status), response.status);
    }
    // Kuscia answers HTTP 200 with its error code in the body.
    if (doc && doc.status && typeof doc.status.code === "number" && doc.status.code !== 0) {
      throw new ApiError(messageOf(doc, response.status), doc.status.code);
    }
    return doc;
  }

  // A server stream (the gateway's NDJSON): onLine gets each decoded line. Resolves
  // when the stream ends; rejects with the API's message when it fails.
  async function stream(path, request, onLine, signal) {
    const response = await fetch(path, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(request || {}),
      signal,
    });
    if (!response.ok) {
      const doc = await response.json().catch(() => null);
      if (response.status === 401) showSignIn();
      throw new ApiError(messageOf(doc, response.status), response.status);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.trim()) continue;
        const doc = JSON.parse(line);
        if (doc.error) throw new ApiError(messageOf(doc.error, 500), doc.error.code);
        onLine(doc);
      }
    }
  }

  // Keeps a watch open: after the stream ends or breaks, `open` runs again (it re-reads
  // what it shows, then watches), a little later each time, until `signal` aborts.
  function follow(open, signal) {
    let delay = 500;
    const again = async () => {
      while (!signal.aborted) {
        try {
          await open();
          delay = 500;
        } catch (error) {
          if (signal.aborted) return;
          if (error.status === 404 || error.status === 401 || error.status === 403) {
            notify(error.message, "error");
            return;
          }
          delay = Math.min(delay * 2, 10000);
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    };
    again();
  }

  function notify(text, kind) {
    const notice = document.getElementById("notice");
    notice.textContent = text;
    notice.className = kind || "info";
    notice.hidden = !text;
  }

  function showSignIn() {
    notify("Sign in to see this page.", "error");
  }

  // A confirmation for an action, with optional fields (a reason, parameters).
  // Resolves to {name: value} of the fields, or null when cancelled.
  function confirm(text, fields) {
    const dialog = document.getElementById("confirm");
    document.getElementById("confirm-text").textContent = text;
    const holder = document.getElementById("confirm-fields");
    holder.replaceChildren();
    const inputs = {};
    for (const field of fields || []) {
      const label = el("label", {}, field.label + " ");
      const input = el("input", { name: field.name, maxlength: "1024" });
      input.value = field.value || "";
      input.dataset.field = field.name;
      label.append(input);
      holder.append(label);
      inputs[field.name] = input;
    }
    return new Promise((resolve) => {
      dialog.addEventListener(
        "close",
        () => {
          if (dialog.returnValue !== "ok") return resolve(null);
          const values = {};
          for (const [name, input] of Object.entries(inputs)) values[name] = input.value;
          resolve(values);
        },
        { once: true },
      );
      dialog.returnValue = "";
      dialog.showModal();
    });
  }

  // Runs an action after its confirmation; a refusal shows the API's message.
  async function act(text, fields, perform) {
    const values = await confirm(text, fields);
    if (values === null) return false;
    try {
      await perform(values);
      notify("Done: " + text.replace(/\?$/, ""), "ok");
      return true;
    } catch (error) {
      notify(error.message, "error");
      return false;
    }
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function button(label, onclick, name) {
    return el("button", { type: "button", onclick, "data-action": name || label.toLowerCase() }, label);
  }

  // An RFC 3339 string or a protobuf Timestamp's JSON, for people.
  function when(value) {
    if (!value) return "";
    const date = new Date(value);
    return isNaN(date) ? String(value) : date.toLocaleString();
  }

  // "RUN_STATUS_SUCCEEDED" -> "succeeded"; Kuscia's "Succeeded" -> "succeeded".
  function stateName(value, enumPrefix) {
    let text = String(value || "unknown");
    if (enumPrefix && text.startsWith(enumPrefix)) text = text.slice(enumPrefix.length);
    return text.toLowerCase();
  }

  function setUpHeader() {
    const out = document.getElementById("signout");
    const link = document.getElementById("signin-link");
    const signedIn = Boolean(token());
    out.hidden = !signedIn;
    link.hidden = signedIn;
    out.addEventListener("click", () => {
      setToken("");
      location.href = prefix + "/signin";
    });
  }

  setUpHeader();
  return {
    ApiError, act, button, call, el, follow, notify, prefix, setToken, stateName, stream,
    token, when, id: body.dataset.id, page: body.dataset.page,
  };
})();
