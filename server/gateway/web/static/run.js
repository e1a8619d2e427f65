// A pipeline run: its steps as a graph, live from the run watch; a step's detail, its
// log followed live, and the actions the API offers on runs and steps.
"use strict";

(() => {
  const { el, call, stream, button, when, stateName, notify } = Dw;
  const runId = Dw.id;
  const WORKFLOW = "/api/v1/workflow/";
  const STEPS = "/api/v1/stepexecution/";
  const pageAlive = new AbortController();
  let run = null;
  let selected = "";
  let logWatch = null;
  const graph = new Dw.Graph(document.getElementById("graph"), document.getElementById("node-list"), select);

  function stepState(step) {
    return stateName(step.status, "STEP_STATUS_");
  }

  function steps() {
    return run ? run.steps : [];
  }

  function show(next) {
    run = next;
    const status = stateName(run.status, "RUN_STATUS_");
    const badge = document.getElementById("state");
    badge.textContent = status;
    badge.className = `badge st-${status}`;
    badge.dataset.state = status;
    document.getElementById("summary").textContent =
      `${run.name || ""} · ${run.username || ""} · created ${when(run.create_time)}` +
      (run.pipeline_id ? ` · pipeline ${run.pipeline_id}` : "") +
      (run.schedule_id ? ` · schedule ${run.schedule_id}` : "") +
      (run.run_msg ? ` · ${run.run_msg}` : "");
    for (const step of run.steps) graph.setState(step.name, stepState(step));
    if (selected) showDetail(selected);
  }

  function runActions() {
    const actions = document.getElementById("actions");
    const id = runId;
    actions.replaceChildren(
      button("Stop", () => Dw.act(`Stop run ${id}?`, [], () => call(WORKFLOW + "run/stop", { run_id: id }))),
      // RetryRun makes a new run (reusing what succeeded): go to it.
      button("Retry", () => Dw.act(`Retry run ${id}?`, [], async () => {
        const answer = await call(WORKFLOW + "run/retry", { run_id: id });
        location.href = `${Dw.prefix}/runs/${encodeURIComponent(answer.run.run_id)}`;
      })),
      button("Delete", () => Dw.act(`Delete run ${id}?`, [], async () => {
        await call(WORKFLOW + "run/delete", { run_id: id });
        location.href = Dw.prefix + "/runs";
      })),
    );
  }

  function field(list, name, value) {
    if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
    list.append(el("dt", {}, name), el("dd", { "data-field": name.toLowerCase() }, value));
  }

  function mapping(object) {
    const entries = Object.entries(object || {});
    return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(", ") : "";
  }

  async function showDetail(name) {
    const step = steps().find((s) => s.name === name);
    if (!step) return;
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = name;
    const list = document.getElementById("detail-fields");
    list.replaceChildren();
    field(list, "Status", stepState(step));
    field(list, "Attempt", String(step.attempt || 0));
    field(list, "Started", when(step.start_time));
    field(list, "Ended", when(step.end_time));
    field(list, "Reason", step.message);
    field(list, "Depends on", (step.deps || []).join(", "));
    field(list, "Command", step.command);
    field(list, "Parameters", mapping(step.parameters));
    field(list, "Inputs", mapping(step.input_artifacts));
    field(list, "Outputs", (step.output_artifacts || []).join(", "));
    field(list, "Cached from", step.cache_run_id);
    const actions = document.getElementById("node-actions");
    const fields = Object.entries(step.parameters || {}).map(([key, value]) => ({ name: key, label: key, value }));
    const stepAct = (action, verb) => () => Dw.act(`${verb} step ${name}?`, fields, (values) => {
      const parameters = Object.entries(values)
        .filter(([key, value]) => value !== (step.parameters || {})[key])
        .map(([key, value]) => ({ name: key, value }));
      return call(STEPS + "act", { run_id: runId, step_name: name, action, parameters });
    });
    actions.replaceChildren(
      button("Retry", stepAct("STEP_ACTION_RETRY", "Retry"), "retry-step"),
      button("Stop", stepAct("STEP_ACTION_STOP", "Stop"), "stop-step"),
      button("Continue", stepAct("STEP_ACTION_CONTINUE", "Continue"), "continue-step"),
    );
  }

  // Follows the selected step's log from the server's stream (no polling): each chunk
  // is appended; a retry's new attempt starts the text afresh.
  function followLog(name) {
    if (logWatch) logWatch.abort();
    logWatch = new AbortController();
    const signal = logWatch.signal;
    const pre = document.getElementById("log");
    pre.textContent = "";
    let attempt = null;
    let offset = 0;
    Dw.follow(() => stream(WORKFLOW + "log/tail", { run_id: runId, step_name: name, offset: String(offset) }, (chunk) => {
      if (attempt !== null && chunk.attempt !== attempt) pre.textContent = "";
      attempt = chunk.attempt;
      offset = Number(chunk.offset);
      if (chunk.content) pre.append(chunk.content);
      pre.dataset.attempt = String(chunk.attempt);
      pre.dataset.finished = String(chunk.finished);
      pre.scrollTop = pre.scrollHeight;
    }, signal), signal);
  }

  function select(name) {
    selected = name;
    graph.select(name);
    showDetail(name);
    followLog(name);
  }

  document.getElementById("detail-close").addEventListener("click", () => {
    selected = "";
    if (logWatch) logWatch.abort();
    document.getElementById("detail").hidden = true;
  });

  async function start() {
    let first;
    try {
      first = (await call(WORKFLOW + "run/get", { run_id: runId })).run;
    } catch (error) {
      notify(error.message, "error");
      document.getElementById("graph").dataset.ready = "refused";
      return;
    }
    runActions();
    const { groups, groupOf } = Dw.groupsOf(first.steps);
    const nodes = first.steps.map((step) => ({ id: step.name, label: step.name, group: groupOf.get(step.name) }));
    const edges = first.steps.flatMap((step) => (step.deps || []).map((dep) => [dep, step.name]));
    for (const step of first.steps) graph.setState(step.name, stepState(step));
    run = first;
    show(first);
    const drawn = graph.draw(nodes, edges, groups);
    // The watch starts at once, beside the layout: states land on the list now and on
    // the graph's nodes as soon as they exist (setState keeps them).
    Dw.follow(async () => {
      const fresh = (await call(WORKFLOW + "run/get", { run_id: runId })).run;
      show(fresh);
      await stream(WORKFLOW + "run/watch", { run_ids: [runId] }, (event) => {
        if (event.type === "EVENT_TYPE_DELETED") {
          notify(`Run ${runId} was deleted.`, "error");
          pageAlive.abort();
        } else if (event.run && event.run.run_id === runId) {
          show(event.run);
        }
      }, pageAlive.signal);
    }, pageAlive.signal);
    await drawn;
  }

  start();
})();
