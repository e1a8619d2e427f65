// Lays a graph out with dagre off the page's thread, so that a page stays responsive
// while a 1,000-task graph is laid out. Gets {nodes, edges, groups}; answers positions.
"use strict";
importScripts("vendor/dagre.min.js");

// network-simplex, dagre's default ranker, takes minutes on 1,000 nodes (about 94 s
// measured); longest-path takes a fraction of it and looks alike on pipeline-shaped DAGs.
const SIMPLEX_LIMIT = 300;

self.onmessage = (event) => {
  const { nodes, edges, groups } = event.data;
  const started = performance.now();
  const graph = new dagre.graphlib.Graph({ compound: groups.length > 0 });
  graph.setGraph({
    rankdir: "LR",
    nodesep: 12,
    ranksep: 44,
    edgesep: 6,
    marginx: 12,
    marginy: 12,
    ranker: nodes.length > SIMPLEX_LIMIT ? "longest-path" : "network-simplex",
  });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const group of groups) graph.setNode(group.id, { label: group.label, paddingTop: 20 });
  for (const group of groups) if (group.parent) graph.setParent(group.id, group.parent);
  for (const node of nodes) {
    graph.setNode(node.id, { width: node.width, height: node.height });
    if (node.group) graph.setParent(node.id, node.group);
  }
  for (const [from, to] of edges) if (graph.hasNode(from) && graph.hasNode(to)) graph.setEdge(from, to);
  dagre.layout(graph);
  const placed = {};
  for (const node of nodes) {
    const { x, y, width, height } = graph.node(node.id);
    placed[node.id] = { x, y, width, height };
  }
  const clusters = groups.map((group) => {
    const { x, y, width, height } = graph.node(group.id);
    return { id: group.id, label: group.label, x, y, width, height };
  });
  const lines = graph.edges().map((edge) => ({ from: edge.v, to: edge.w, points: graph.edge(edge).points }));
  const { width, height } = graph.graph();
  self.postMessage({ nodes: placed, clusters, edges: lines, width, height, ms: performance.now() - started });
};
