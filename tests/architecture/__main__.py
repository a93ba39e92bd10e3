"""`python -m tests.architecture`: the layers, bottom up, and the package-level imports."""

from __future__ import annotations

from tests.architecture.test_architecture import LAYERS, group_of, import_graph

graph = import_graph()
edges: dict[str, set[str]] = {}
for module, targets in graph.items():
    for target in targets:
        if group_of(module) != group_of(target):
            edges.setdefault(group_of(module), set()).add(group_of(target))
for index, groups in reversed(list(enumerate(LAYERS))):
    for group in groups:
        uses = ", ".join(sorted(t.removeprefix("callcenter.") for t in edges.get(group, ())))
        print(f"{index:>2}  {group.removeprefix('callcenter.'):<15} -> {uses or '-'}")
