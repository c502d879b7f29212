"""The benchmark's ECS step (bench/ecs_calls.py) at a tiny size against moto's server behind AWS's limits: its counts
equal the documented formula, written out here by hand, and its read finds exactly the benchmark's demand."""

from __future__ import annotations

from bench import ecs_calls


def test_the_ecs_step_counts_the_documented_calls_across_page_and_batch_limits():
    # N, M, K = 6, 2, 5: 2 clusters; 11 services each (DescribeServices 2 batches), 10 tasks each: 110 per cluster
    # (ListTasks 2 pages, DescribeTasks 2 batches); 11 task definitions per cluster, 22 in all.
    row = ecs_calls.measure((6, 2, 5), services=11, tasks_per_service=10)
    documented = {"ListClusters": 1, "ListServices": 2 * 1, "DescribeServices": 2 * 2, "ListTasks": 2 * 2, "DescribeTasks": 2 * 2,
                  "DescribeTaskDefinition": 22}
    assert dict(row.calls) == documented
    assert dict(row.expected) == documented
    assert (row.services, row.tasks, row.task_definitions, row.problems) == (11, 110, 22, ())
    assert row.failures() == []
    table = ecs_calls.table([row]).splitlines()
    assert table[2] == "| 6, 2, 5 | 2 | 11 | 110 | 22 | 1 | 2 | 4 | 4 | 4 | 22 | 37 | 37 (equal) |"

