// A Kuscia job: its tasks as a graph, live from the job watch (deltas: a MODIFIED event
// carries only the tasks that changed); a task's parties and times; the job's actions.
"use strict";

(() => {
  const { el, call, stream, button, when, stateName, notify } = Dw;
  const jobId = Dw.id;
  const JOB = "/api/v1/job/";
  const pageAlive = new AbortController();
  // Tasks by alias, their key: dependencies name aliases (task ids may be generated).
  const configs = new Map(); // alias -> TaskConfig (what the job was created with)
  const statuses = new Map(); // alias -> TaskStatus (latest)
  const aliasOf = new Map(); // task id -> alias
  let detail = null; // JobStatusDetail (latest, tasks aside)
  let selected = "";
  const graph = new Dw.Graph(document.getElementById("graph"), document.getElementById("node-list"), select);

  function apply(status, delta) {
    detail = status;
    if (!delta) statuses.clear();
    for (const task of status.tasks || []) {
      const alias = task.alias || aliasOf.get(task.task_id) || task.task_id;
      statuses.set(alias, task);
      graph.setState(alias, stateName(task.state));
    }
    const state = stateName(status.state);
    const badge = document.getElementById("state");
    badge.textContent = state;
    badge.className = `badge st-${state}`;
    badge.dataset.state = state;
    document.getElementById("summary").textContent =
      `created ${when(status.create_time)}` + (status.end_time ? ` · ended ${when(status.end_time)}` : "") +
      (status.err_msg ? ` · ${status.err_msg}` : "") +
      (status.approve_status_list || []).map((p) => ` · ${p.domain_id}: ${p.state}`).join("");
    if (selected) showDetail(selected);
  }

  function jobActions() {
    const id = jobId;
    const reason = [{ name: "reason", label: "Reason" }];
    const simple = (verb, path) =>
      button(verb, () => Dw.act(`${verb} job ${id}?`, reason, (v) => call(JOB + path, { job_id: id, reason: v.reason })));
    document.getElementById("actions").replaceChildren(
      button("Approve", () => Dw.act(`Approve job ${id}?`, reason, (v) =>
        call(JOB + "approve", { job_id: id, result: "APPROVE_RESULT_ACCEPT", reason: v.reason }))),
      button("Reject", () => Dw.act(`Reject job ${id}?`, reason, (v) =>
        call(JOB + "approve", { job_id: id, result: "APPROVE_RESULT_REJECT", reason: v.reason }))),
      simple("Suspend", "suspend"),
      simple("Restart", "restart"),
      simple("Stop", "stop"),
      simple("Cancel", "cancel"),
      button("Delete", () => Dw.act(`Delete job ${id}?`, [], async () => {
        await call(JOB + "delete", { job_id: id });
        location.href = Dw.prefix + "/jobs";
      })),
    );
  }

  function field(list, name, value) {
    if (value === undefined || value === null || value === "") return;
    list.append(el("dt", {}, name), el("dd", { "data-field": name.toLowerCase() }, value));
  }

  function showDetail(alias) {
    const config = configs.get(alias) || {};
    const status = statuses.get(alias) || {};
    document.getElementById("detail").hidden = false;
    document.getElementById("detail-title").textContent = alias;
    const list = document.getElementById("detail-fields");
    list.replaceChildren();
    field(list, "State", stateName(status.state));
    field(list, "Task id", config.task_id);
    field(list, "App image", config.app_image);
    field(list, "Depends on", (config.dependencies || []).join(", "));
    field(list, "Created", when(status.create_time));
    field(list, "Started", when(status.start_time));
    field(list, "Ended", when(status.end_time));
    field(list, "Progress", status.progress ? `${Math.round(status.progress * 100)}%` : "");
    field(list, "Reason", status.err_msg);
    const parties = el("ul", { class: "parties" });
    const byDomain = new Map((status.parties || []).map((p) => [p.domain_id, p]));
    for (const party of config.parties || []) {
      const seen = byDomain.get(party.domain_id) || {};
      parties.append(el("li", { "data-party": party.domain_id },
        `${party.domain_id}${party.role ? ` (${party.role})` : ""}: ${stateName(seen.state)}${seen.err_msg ? ` · ${seen.err_msg}` : ""}`));
    }
    list.append(el("dt", {}, "Parties"), el("dd", {}, parties));
    field(list, "Parameters", config.task_input_config);
    document.getElementById("node-actions").replaceChildren();
    // Kuscia's job API has no task logs: say so rather than show an empty pane.
    document.getElementById("log").textContent = "Kuscia's job API offers no task logs.";
  }

  function select(alias) {
    selected = alias;
    graph.select(alias);
    showDetail(alias);
  }

  document.getElementById("detail-close").addEventListener("click", () => {
    selected = "";
    document.getElementById("detail").hidden = true;
  });

  async function start() {
    let data;
    try {
      data = (await call(JOB + "query", { job_id: jobId })).data;
    } catch (error) {
      notify(error.message, "error");
      document.getElementById("graph").dataset.ready = "refused";
      return;
    }
    jobActions();
    for (const task of data.tasks) {
      configs.set(task.alias, task);
      aliasOf.set(task.task_id, task.alias);
    }
    apply(data.status, false);
    const nodes = data.tasks.map((task) => ({ id: task.alias, label: task.alias }));
    const edges = data.tasks.flatMap((task) => (task.dependencies || []).map((dep) => [dep, task.alias]));
    const drawn = graph.draw(nodes, edges, []);
    let resumeFrom = 0;
    Dw.follow(async () => {
      // A reconnect resumes where the last stream stopped; the first open gets the
      // job's current state as its first (ADDED) event.
      const request = { job_ids: [jobId], deltas: true };
      if (resumeFrom) request.resume_from = String(resumeFrom);
      try {
        await stream(JOB + "watch", request, (event) => {
          if (event.resource_version && event.resource_version !== "0") resumeFrom = Number(event.resource_version);
          if (event.type === "DELETED") {
            notify(`Job ${jobId} was deleted.`, "error");
            pageAlive.abort();
          } else if (event.object && event.object.job_id === jobId && event.type !== "HEARTBEAT") {
            apply(event.object.status, Boolean(event.delta));
          }
        }, pageAlive.signal);
      } catch (error) {
        resumeFrom = 0; // too old to resume, or broken: start again from the full state
        throw error;
      }
    }, pageAlive.signal);
    await drawn;
  }

  start();
})();
