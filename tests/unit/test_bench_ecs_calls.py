"""The benchmark's ECS step (bench/ecs_calls.py) without an ECS API: its formula, written out by hand, and that a count
or a demand that differs fails it and shows in its table."""

from __future__ import annotations

from dataclasses import replace

from bench import ecs_calls


def test_the_formula_is_the_documented_one_pages_of_100_services_by_10_tasks_by_100_each_task_definition_once():
    # The provider test's world (tests/provider/test_ecs_source.py): 3 clusters, at most 150 services and 230 tasks.
    assert ecs_calls.expected(1, 150, 230, 3) == {"ListClusters": 1, "ListServices": 2, "DescribeServices": 15, "ListTasks": 3,
                                                 "DescribeTasks": 3, "DescribeTaskDefinition": 3}
    # Empty clusters still cost one ListServices and one ListTasks each; 101 clusters two ListClusters pages.
    assert ecs_calls.expected(101, 0, 0, 0) == {"ListClusters": 2, "ListServices": 101, "DescribeServices": 0, "ListTasks": 101,
                                               "DescribeTasks": 0, "DescribeTaskDefinition": 0}


def test_the_demand_is_the_benchmarks_k_references_per_namespace_from_i_times_k_wrapping_around():
    assert ecs_calls.demand(["a", "b", "c", "d"], ["n0", "n1", "n2"], 3) == {
        "n0": ["a", "b", "c"], "n1": ["d", "a", "b"], "n2": ["c", "d", "a"],
    }


def test_a_count_or_a_demand_that_differs_fails_the_step_and_says_so():
    documented = ecs_calls.expected(2, 11, 110, 22)
    row = ecs_calls.EcsCalls((6, 2, 5), 11, 110, 22, {**documented, "DescribeServices": 22}, documented)
    assert row.failures() == ["ECS calls at N, M, K = 6, 2, 5: DescribeServices: 22 calls, documented 4"]
    assert ecs_calls.table([row]).splitlines()[2].endswith("| 55 | 37 (**DIFFERS**) |")
    short = replace(row, calls=documented, problems=("namespace c0-bench-us-east-1: read 4 references, the benchmark's demand is 5",))
    assert short.failures() == ["ECS calls at N, M, K = 6, 2, 5: namespace c0-bench-us-east-1: read 4 references, the benchmark's demand is 5"]
    assert replace(row, calls=documented).failures() == []
