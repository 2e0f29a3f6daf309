// Breadth-first search distances on an adjacency-list graph.
#include <cstddef>
#include <vector>

struct Graph {
  std::vector<std::vector<int>> adj;
  explicit Graph(int n) : adj(n) {}
  void add_edge(int a, int b) {
    adj[a].push_back(b);
    adj[b].push_back(a);
  }
};

std::vector<int> bfs_distances(const Graph &g, int source) {
  std::vector<int> dist(g.adj.size(), -1);
  std::vector<int> queue;
  queue.reserve(g.adj.size());
  dist[source] = 0;
  queue.push_back(source);
  for (std::size_t head = 0; head < queue.size(); ++head) {
    int u = queue[head];
    for (int v : g.adj[u])
      if (dist[v] < 0) {
        dist[v] = dist[u] + 1;
        queue.push_back(v);
      }
  }
  return dist;
}

int count_components(const Graph &g) {
  std::vector<char> seen(g.adj.size(), 0);
  int components = 0;
  for (std::size_t s = 0; s < g.adj.size(); ++s) {
    if (seen[s]) continue;
    ++components;
    for (int v = 0; v < static_cast<int>(g.adj.size()); ++v)
      if (!seen[v] && bfs_distances(g, static_cast<int>(s))[v] >= 0) seen[v] = 1;
  }
  return components;
}
