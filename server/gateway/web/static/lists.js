// The list pages: runs, jobs, pipelines (with their versions) and schedules. Filters
// become the API's own filters; pages follow the API's page tokens.
"use strict";

(() => {
  const { el, call, button, when, stateName, prefix } = Dw;
  const PAGE_SIZE = 20;
  const form = document.getElementById("filters");
  const tbody = document.querySelector("#list tbody");
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  let tokens = [""]; // the token of each page seen so far; the last is the current one
  let nextToken = "";

  function values() {
    const result = {};
    for (const [key, value] of new FormData(form)) if (String(value).trim()) result[key] = String(value).trim();
    return result;
  }

  // `key=value AND ...`, the grammar of the workflow listings (engine/listing.py).
  function filterText(wanted, keys) {
    return keys.filter((key) => wanted[key]).map((key) => `${key}=${wanted[key]}`).join(" AND ");
  }

  function link(path, text) {
    return el("a", { href: prefix + path }, text);
  }

  function badge(state) {
    return el("span", { class: `badge st-${state}` }, state);
  }

  function cell(label, ...content) {
    return el("td", { "data-label": label }, ...content);
  }

  const PAGES = {
    async runs(wanted, token) {
      const filter = filterText(wanted, ["status", "name", "pipeline_id", "schedule_id"]);
      const answer = await call("/api/v1/workflow/run/list", { page_size: PAGE_SIZE, page_token: token, filter });
      const rows = answer.runs.map((run) =>
        el("tr", { "data-id": run.run_id },
          cell("Run", link(`/runs/${encodeURIComponent(run.run_id)}`, run.run_id)),
          cell("Name", run.name),
          cell("Status", badge(stateName(run.status, "RUN_STATUS_"))),
          cell("Pipeline", run.pipeline_id),
          cell("Schedule", run.schedule_id),
          cell("Created", when(run.create_time))));
      return [rows, answer.next_page_token];
    },
    async jobs(wanted, token) {
      const states = wanted.state ? [wanted.state] : [];
      const request = { page_size: PAGE_SIZE, page_token: token, states, job_id_contains: wanted.name || "" };
      const answer = await call("/api/v1/job/list", request);
      const rows = answer.data.jobs.map((job) =>
        el("tr", { "data-id": job.job_id },
          cell("Job", link(`/jobs/${encodeURIComponent(job.job_id)}`, job.job_id)),
          cell("State", badge(stateName(job.status.state))),
          cell("Tasks", String(job.status.tasks.length)),
          cell("Created", when(job.status.create_time)),
          cell("Message", job.status.err_msg)));
      return [rows, answer.data.next_page_token];
    },
    async pipelines(wanted, token) {
      const filter = filterText(wanted, ["name"]);
      const answer = await call("/api/v1/workflow/pipeline/list", { page_size: PAGE_SIZE, page_token: token, filter });
      const rows = answer.pipelines.map((pipeline) => {
        const versions = el("td", { "data-label": "Versions" });
        versions.append(button("Show versions", () => showVersions(pipeline.pipeline_id, versions), "versions"));
        return el("tr", { "data-id": pipeline.pipeline_id },
          cell("Pipeline", pipeline.pipeline_id),
          cell("Name", pipeline.name),
          cell("Owner", pipeline.username),
          cell("Latest version", pipeline.latest_version_id),
          cell("Updated", when(pipeline.update_time)),
          versions);
      });
      return [rows, answer.next_page_token];
    },
    async schedules(wanted, token) {
      const filter = filterText(wanted, ["status", "name", "pipeline_id"]);
      const answer = await call("/api/v1/workflow/schedule/list", { page_size: PAGE_SIZE, page_token: token, filter });
      const rows = answer.schedules.map((schedule) => {
        const id = schedule.schedule_id;
        const status = stateName(schedule.status, "SCHEDULE_STATUS_");
        const actions = el("td", { "data-label": "Actions" },
          button("Pause", () => Dw.act(`Pause schedule ${id}?`, [], () =>
            call("/api/v1/workflow/schedule/stop", { schedule_id: id })).then(reload), "pause"),
          button("Delete", () => Dw.act(`Delete schedule ${id}?`, [], () =>
            call("/api/v1/workflow/schedule/delete", { schedule_id: id })).then(reload), "delete"));
        return el("tr", { "data-id": id },
          cell("Schedule", id),
          cell("Name", schedule.name),
          cell("Status", badge(status)),
          cell("Crontab", schedule.crontab),
          cell("Pipeline", schedule.pipeline_id),
          cell("Next run", when(schedule.next_run_time)),
          actions);
      });
      return [rows, answer.next_page_token];
    },
  };

  async function showVersions(pipelineId, holder) {
    try {
      const answer = await call("/api/v1/workflow/pipeline/get", { pipeline_id: pipelineId });
      const list = el("ul", { class: "versions" });
      for (const version of answer.pipeline_versions) {
        list.append(el("li", {}, `v${version.pipeline_version_id} · ${when(version.create_time)} · ${version.username}`,
          el("details", {}, el("summary", {}, "YAML"), el("pre", {}, version.pipeline_yaml))));
      }
      holder.replaceChildren(list);
    } catch (error) {
      Dw.notify(error.message, "error");
    }
  }

  async function load() {
    try {
      const [rows, following] = await PAGES[Dw.page](values(), tokens[tokens.length - 1]);
      tbody.replaceChildren(...rows);
      if (!rows.length) tbody.append(el("tr", { class: "empty" }, el("td", { colspan: "7" }, "Nothing here.")));
      nextToken = following || "";
      next.disabled = !nextToken;
      prev.disabled = tokens.length < 2;
      Dw.notify("");
    } catch (error) {
      tbody.replaceChildren();
      Dw.notify(error.message, "error");
    }
  }

  function reload() {
    load();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tokens = [""];
    load();
  });
  next.addEventListener("click", () => {
    tokens.push(nextToken);
    load();
  });
  prev.addEventListener("click", () => {
    tokens.pop();
    load();
  });
  load();
})();
