"""Scale-out: two `xid serve` processes against one PostgreSQL database, annotators on both at once, and
one annotator moving from one process to the other."""

import asyncio

import sqlalchemy as sa


def test_two_processes_share_one_postgresql(load_bench, postgres_url, tmp_path, shared_data):
    from xid_app.store.models import Classification, Source, User

    project = load_bench.make_project(postgres_url, tmp_path, 40, shared_data)
    servers = []
    for name in ("host-a", "host-b"):  # each with its own data directory, as on two hosts
        (tmp_path / name).mkdir()
        servers.append(load_bench.Server(postgres_url, tmp_path / name))
    tally = load_bench.Tally()

    async def work():
        mover_a = load_bench.Annotator("mover", servers[0], tally, seed=1)
        await mover_a.run(5)
        mover_b = load_bench.Annotator("mover", servers[1], tally, seed=2)  # the same person, now on host b
        crowd = [load_bench.Annotator(f"crowd-{i}", servers[i % 2], tally, seed=10 + i) for i in range(6)]
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
