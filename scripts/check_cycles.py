"""No import cycles: every module of docflow and of the four libraries sits in
one direction of the import graph.

The graph is built by grimp, which counts imports inside functions and under
``TYPE_CHECKING`` too: a cycle hidden in a function body is still a cycle.
Prints each strongly connected component of more than one module, with one
example cycle through it, and exits 1 if there is any.

``--package NAME`` (repeatable) limits the check to the components whose
modules all lie in those packages, e.g.
``python scripts/check_cycles.py --package signing --package storage``.
"""

from __future__ import annotations

import argparse
import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import grimp

ROOT_PACKAGES = ("docflow", "signing", "storage", "notifications", "netguard")

Graph = Mapping[str, frozenset[str]]


def build_graph(packages: Sequence[str] = ROOT_PACKAGES) -> dict[str, frozenset[str]]:
    """The project's import graph: each module mapped to the modules it imports."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    return {
        module: frozenset(graph.find_modules_directly_imported_by(module))
        for module in sorted(graph.modules)
    }


def strongly_connected_components(graph: Graph) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a deep graph must not hit the recursion limit).

    :returns: every component, each sorted, in the order Tarjan closes them.
    """
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0

    for root in graph:
        if root in index:
            continue
        # Each frame: a node and an iterator over its successors still to visit.
        work: list[tuple[str, Iterable[str]]] = []
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        work.append((root, iter(sorted(graph.get(root, ())))))
        while work:
            node, successors = work[-1]
            descended = False
            for successor in successors:
                if successor not in index:
                    index[successor] = lowlink[successor] = counter
                    counter += 1
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    descended = True
                    break
                if successor in on_stack:
                    lowlink[node] = min(lowlink[node], index[successor])
            if descended:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


def example_cycle(graph: Graph, component: Sequence[str]) -> list[str]:
    """A shortest cycle through the component's first module, inside the component.

    :returns: the path, its first module repeated at the end.
    """
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    queue: deque[str] = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for successor in sorted(graph.get(node, ())):
            if successor not in members:
                continue
            if successor == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if successor not in seen:
                seen.add(successor)
                previous[successor] = node
                queue.append(successor)
    # Unreachable for a strongly connected component of two or more modules.
    raise AssertionError(f"no cycle through {start}")


def in_packages(module: str, packages: Sequence[str]) -> bool:
    return any(module == name or module.startswith(name + ".") for name in packages)


def find_cycles(graph: Graph, packages: Sequence[str] = ()) -> list[list[str]]:
    """The components of more than one module (restricted to ``packages`` if given)."""
    return [
        component
        for component in strongly_connected_components(graph)
        if len(component) > 1
        and (not packages or all(in_packages(m, packages) for m in component))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Print the import cycles of docflow and the four libraries "
        "(grimp's graph, imports inside functions included); exit 1 if any."
    )
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="NAME",
        help="check only cycles whose modules all lie in NAME (repeatable)",
    )
    args = parser.parse_args(argv)
    packages: list[str] = args.package
    graph = build_graph()
    cycles = find_cycles(graph, packages)
    for component in cycles:
        print(f"Import cycle of {len(component)} modules:")
        for module in component:
            print(f"  {module}")
        print("  e.g. " + " -> ".join(example_cycle(graph, component)))
    if cycles:
        print(f"{len(cycles)} import cycle(s) found.")
        return 1
    scope = ", ".join(packages) if packages else ", ".join(ROOT_PACKAGES)
    print(f"No import cycles in {scope}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
