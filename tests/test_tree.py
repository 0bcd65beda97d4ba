"""lamina.tree: the nested-structure helpers every package walks inputs and targets with."""

from __future__ import annotations

import torch

from lamina.tree import flatten, map_structure


def test_map_structure_keeps_the_nesting_and_the_container_types() -> None:
    structure = {"b": [1, (2, 3)], "a": 4}
    out = map_structure(lambda v: v * 10, structure)
    assert out == {"b": [10, (20, 30)], "a": 40}
    assert list(out) == ["b", "a"]  # insertion order, not sorted
    assert isinstance(out["b"], list) and isinstance(out["b"][1], tuple)


def test_flatten_lists_leaves_in_insertion_order() -> None:
    assert flatten({"b": [1, (2, 3)], "a": 4}) == [1, 2, 3, 4]
    assert flatten(5) == [5]
    assert flatten([]) == []


def test_a_torch_size_and_a_tensor_are_leaves() -> None:
    t = torch.zeros(2)
    leaves = flatten([torch.Size([3, 4]), t, None])
    assert leaves[0] == torch.Size([3, 4]) and leaves[1] is t and leaves[2] is None


def test_is_leaf_stops_the_walk() -> None:
    def is_pair(x: object) -> bool:
        return isinstance(x, tuple) and len(x) == 2

    out = map_structure(lambda p: p[0] + p[1], [(1, 2), [(3, 4)]], is_leaf=is_pair)
    assert out == [3, [7]]
