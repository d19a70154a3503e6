"""Scale-out: two `xid serve` processes against one PostgreSQL database, annotators on both at once, and
one annotator moving from one process to the other."""

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_load.py"


@pytest.fixture(scope="module")
def load():
    spec = importlib.util.spec_from_file_location("bench_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module
    spec.loader.exec_module(module)
    return module


def test_two_processes_share_one_postgresql(load, postgres_url, tmp_path, shared_data):
    from xid_app.store.models import Classification, Source, User

    project = load.make_project(postgres_url, tmp_path, 40, shared_data)
    servers = []
    for name in ("host-a", "host-b"):  # each with its own data directory, as on two hosts
        (tmp_path / name).mkdir()
        servers.append(load.Server(postgres_url, tmp_path / name))
    tally = load.Tally()

    async def work():
        mover_a = load.Annotator("mover", servers[0], tally, seed=1)
        await mover_a.run(5)
        mover_b = load.Annotator("mover", servers[1], tally, seed=2)  # the same person, now on host b
        crowd = [load.Annotator(f"crowd-{i}", servers[i % 2], tally, seed=10 + i) for i in range(6)]
        await asyncio.gather(mover_b.run(5), *(a.run(8) for a in crowd))

    for server in servers:
        server.start()
    try:
        asyncio.run(work())
    finally:
        for server in servers:
            server.stop()
    with project.engine.connect() as conn:
        stored = conn.execute(sa.select(User.name, Source.source_id, Classification.submission_id)
                              .join(User, User.id == Classification.user_pk)
                              .join(Source, Source.id == Classification.source_pk)).all()
    by_id = {row.submission_id: row for row in stored}
    assert len(by_id) == len(stored)  # no answer twice
    for user, answer_id, source in tally.acked:
        assert by_id[answer_id].source_id == source and by_id[answer_id].name == user
    mover = [row.source_id for row in stored if row.name == "mover"]
    assert len(mover) == len(set(mover)) >= 8  # host b went on where host a stopped: no source twice
    pairs = [(row.name, row.source_id) for row in stored]
    assert len(pairs) == len(set(pairs))
    project.engine.dispose()
