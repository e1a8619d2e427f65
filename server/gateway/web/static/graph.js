// A job's or run's DAG: laid out once (dagre, in layout-worker.js), drawn as SVG, and
// from then on only recoloured: a state change touches one node's class and its edges'.
// The same nodes are listed in #node-list, which narrow screens show instead.
"use strict";

Dw.Graph = class {
  static MAX_EDGES = 12000;
  static MIN_SCALE = 0.4;

  constructor(container, list, onSelect) {
    this.container = container;
    this.list = list;
    this.onSelect = onSelect;
    this.shapes = new Map(); // node id -> its <g>
    this.items = new Map(); // node id -> its <li>
    this.outgoing = new Map(); // node id -> the <path>s leaving it
    this.states = new Map();
  }

  // nodes: [{id, label, group?}], edges: [[from, to]], groups: [{id, label, parent?}]
  draw(nodes, edges, groups) {
    const started = performance.now();
    this.drawList(nodes);
    if (edges.length > Dw.Graph.MAX_EDGES) {
      // Past this, dagre's crossing minimisation takes minutes: the list is the view.
      this.container.closest(".workspace").classList.add("list-only");
      this.container.dataset.ready = "list";
      Dw.notify(`${edges.length.toLocaleString()} dependencies are too many to draw; the tasks are listed.`, "info");
      return Promise.resolve(performance.now() - started);
    }
    const sized = nodes.map((node) => ({
      id: node.id,
      group: node.group || "",
      width: Math.min(220, 28 + 7 * node.label.length),
      height: 30,
    }));
    return new Promise((resolve, reject) => {
      const worker = new Worker(Dw.prefix + "/static/layout-worker.js");
      worker.onmessage = (event) => {
        worker.terminate();
        this.drawSvg(nodes, event.data);
        const ms = performance.now() - started;
        this.container.dataset.layoutMs = String(Math.round(event.data.ms));
        this.container.dataset.drawnMs = String(Math.round(ms));
        this.container.dataset.readyAt = String(Math.round(performance.now()));
        this.container.dataset.ready = "true";
        resolve(ms);
      };
      worker.onerror = (error) => {
        worker.terminate();
        reject(new Error(`graph layout failed: ${error.message}`));
      };
      worker.postMessage({ nodes: sized, edges, groups });
    });
  }

  drawList(nodes) {
    const items = nodes.map((node) => {
      const state = this.states.get(node.id) || "unknown";
      const item = Dw.el("li", { "data-node": node.id, "data-state": state, class: `st-${state}` },
        Dw.el("button", { type: "button", onclick: () => this.onSelect(node.id) }, node.label),
        Dw.el("span", { class: "state" }, state));
      this.items.set(node.id, item);
      return item;
    });
    this.list.replaceChildren(...items);
  }

  drawSvg(nodes, layout) {
    const NS = "http://www.w3.org/2000/svg";
    const make = (tag, attributes) => {
      const node = document.createElementNS(NS, tag);
      for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
      return node;
    };
    const svg = make("svg", {
      viewBox: `0 0 ${Math.ceil(layout.width)} ${Math.ceil(layout.height)}`,
      role: "img",
    });
    this.svg = svg;
    this.size = { width: Math.ceil(layout.width), height: Math.ceil(layout.height) };
    const defs = make("defs", {});
    const marker = make("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto" });
    marker.append(make("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }));
    defs.append(marker);
    svg.append(defs);
    for (const cluster of layout.clusters) {
      const group = make("g", { class: "cluster", "data-cluster": cluster.id });
      group.append(make("rect", { x: cluster.x - cluster.width / 2, y: cluster.y - cluster.height / 2, width: cluster.width, height: cluster.height, rx: 6 }));
      const title = make("text", { x: cluster.x - cluster.width / 2 + 8, y: cluster.y - cluster.height / 2 + 14 });
      title.textContent = cluster.label;
      group.append(title);
      svg.append(group);
    }
    const edgeLayer = make("g", { class: "edge-layer" });
    for (const edge of layout.edges) {
      const d = edge.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      const path = make("path", { d, class: `edge st-${this.states.get(edge.from) || "unknown"}`, "marker-end": "url(#arrow)", "data-from": edge.from, "data-to": edge.to });
      if (!this.outgoing.has(edge.from)) this.outgoing.set(edge.from, []);
      this.outgoing.get(edge.from).push(path);
      edgeLayer.append(path);
    }
    svg.append(edgeLayer);
    const nodeLayer = make("g", { class: "node-layer" });
    for (const node of nodes) {
      const box = layout.nodes[node.id];
      const state = this.states.get(node.id) || "unknown";
      const shape = make("g", { class: `node st-${state}`, "data-node": node.id, "data-state": state, transform: `translate(${(box.x - box.width / 2).toFixed(1)},${(box.y - box.height / 2).toFixed(1)})`, tabindex: "0" });
      shape.append(make("rect", { width: box.width, height: box.height, rx: 5 }));
      const label = make("text", { x: 10, y: 19 });
      label.textContent = node.label;
      const title = make("title", {});
      title.textContent = `${node.label}: ${state}`;
      shape.append(label, title);
      shape.addEventListener("click", () => this.onSelect(node.id));
      shape.addEventListener("keydown", (event) => { if (event.key === "Enter") this.onSelect(node.id); });
      this.shapes.set(node.id, shape);
      nodeLayer.append(shape);
    }
    svg.append(nodeLayer);
    const zoom = Dw.el("div", { class: "zoom" },
      Dw.el("button", { type: "button", "data-action": "zoom-out", "aria-label": "zoom out", onclick: () => this.zoom(this.scale / 1.25) }, "−"),
      Dw.el("button", { type: "button", "data-action": "zoom-fit", onclick: () => this.zoom(this.fitScale()) }, "Fit"),
      Dw.el("button", { type: "button", "data-action": "zoom-in", "aria-label": "zoom in", onclick: () => this.zoom(this.scale * 1.25) }, "+"));
    this.container.replaceChildren(zoom, svg);
    this.zoom(this.fitScale());
  }

  // The scale at which the whole graph fits the pane, within [MIN_SCALE, 1]: below that
  // labels cannot be read, and the pane scrolls instead.
  fitScale() {
    const width = this.container.clientWidth - 4;
    const height = Math.max(this.container.clientHeight, 300) - 4;
    const fit = Math.min(width / this.size.width, height / this.size.height, 1);
    return Math.max(fit, Dw.Graph.MIN_SCALE);
  }

  zoom(scale) {
    this.scale = Math.min(Math.max(scale, 0.1), 3);
    this.svg.setAttribute("width", String(Math.round(this.size.width * this.scale)));
    this.svg.setAttribute("height", String(Math.round(this.size.height * this.scale)));
  }

  // Recolours one node (and the edges leaving it): no layout, no redraw.
  setState(id, state) {
    if (this.states.get(id) === state) return;
    this.states.set(id, state);
    const shape = this.shapes.get(id);
    if (shape) {
      shape.setAttribute("class", `node st-${state}`);
      shape.dataset.state = state;
      shape.querySelector("title").textContent = `${shape.querySelector("text").textContent}: ${state}`;
    }
    for (const path of this.outgoing.get(id) || []) path.setAttribute("class", `edge st-${state}`);
    const item = this.items.get(id);
    if (item) {
      item.className = `st-${state}`;
      item.dataset.state = state;
      item.querySelector(".state").textContent = state;
    }
  }

  select(id) {
    for (const shape of this.shapes.values()) shape.classList.remove("selected");
    const shape = this.shapes.get(id);
    if (shape) shape.classList.add("selected");
  }
};

// Groups of a run's steps: sub-DAGs (`dag.step`, PaddleFlow's absolute names) and the
// copies of a looped step (`step`, `step-1`, ... with the same dependencies).
Dw.groupsOf = (steps) => {
  const groups = new Map();
  const groupOf = new Map();
  const names = new Set(steps.map((step) => step.name));
  const addGroup = (id, label, parent) => {
    if (!groups.has(id)) groups.set(id, { id, label, parent: parent || "" });
  };
  for (const step of steps) {
    const parts = step.name.split(".");
    let parent = "";
    for (let i = 1; i < parts.length; i++) {
      const id = "dag:" + parts.slice(0, i).join(".");
      addGroup(id, parts.slice(0, i).join("."), parent);
      parent = id;
    }
    if (parent) groupOf.set(step.name, parent);
  }
  const deps = new Map(steps.map((step) => [step.name, (step.deps || []).join(",")]));
  for (const step of steps) {
    const match = /^(.*)-(\d+)$/.exec(step.name);
    if (!match || !names.has(match[1]) || deps.get(match[1]) !== deps.get(step.name)) continue;
    const id = "loop:" + match[1];
    addGroup(id, `${match[1]} (loop)`, groupOf.get(match[1]) || "");
    groupOf.set(match[1], id);
    groupOf.set(step.name, id);
  }
  return { groups: [...groups.values()], groupOf };
};
