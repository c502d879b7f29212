"""`make seed`'s ECS half (scripts/seed_ecs.py) against moto's ECS API: the dev stack's demand from the ECS API is the
demand the same task definition files give, and seeding twice registers nothing new."""

from __future__ import annotations

import os

from kecs_secrets.config import EcsDemandSettings, TaskDefinitionSource
from kecs_secrets.demand import references_from_task_definitions
from kecs_secrets.ecs_demand import ecs_references, read_ecs_demand
from providers.ecs_source import EcsSource
from providers.task_definitions import TaskDefinitionFiles
from scripts.seed_ecs import main as seed
from tests.support.ecs import ecs_client
from tests.support.moto import moto_server
from tests.support.real import ROOT

EXAMPLES = "examples/task-definitions/*.json"


def test_the_seeded_ecs_api_gives_the_demand_of_the_files_and_a_second_seed_changes_nothing(capsys):
    with moto_server(account="000000000000") as moto:
        assert seed(["--endpoint", moto, f"{os.path.join(ROOT, EXAMPLES)}:default"]) == 0
        assert seed(["--endpoint", moto, f"{os.path.join(ROOT, EXAMPLES)}:default"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert printed == ["ecs: default/demo-web: service created on demo-web:1", "ecs: default/demo-web: unchanged (demo-web:1)"]
        assert len(ecs_client(moto).list_task_definitions()["taskDefinitionArns"]) == 1
        refs, warnings = ecs_references(read_ecs_demand(EcsSource(moto, "us-east-1"), EcsDemandSettings(enabled=True, region="us-east-1")))
        # A file gone (the seed removes the edge-case files when run without them): its service goes too.
        assert seed(["--endpoint", moto, f"{os.path.join(ROOT, 'examples', 'nothing-*.json')}:default"]) == 0
        assert capsys.readouterr().out.splitlines() == ["ecs: default/demo-web: service deleted (no task definition file names it any more)"]
        assert read_ecs_demand(EcsSource(moto, "us-east-1"), EcsDemandSettings(enabled=True, region="us-east-1")).users == ()
    files = references_from_task_definitions((TaskDefinitionSource(EXAMPLES, "default", "us-east-1"),), TaskDefinitionFiles(ROOT))
    assert warnings == []
    assert sorted((r.namespace, r.value_from) for r in refs) == sorted((r.namespace, r.value_from) for r in files)
