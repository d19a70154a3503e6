"""The load and fault test of benchmarks/bench_load.py, small: websocket clients answering through the
page while the server is killed with SIGKILL and restarted; nothing acknowledged lost, nothing doubled,
no hostile value stored — on SQLite and on PostgreSQL."""



def test_nothing_acknowledged_is_lost_or_doubled_across_a_sigkill(load_bench, db_url, tmp_path, shared_data):
    result = load_bench.run_load(db_url, tmp_path, shared_data, clients=8, answers=15, kill=True)
    assert result["killed"] and result["reconnects"] >= 1
    assert result["acknowledged"] >= 8 * 15 * 0.85  # hostile steps are skipped, not answered
    assert result["lost"] == 0 and result["doubled"] == 0 and result["hostile_stored"] == 0
    assert result["duplicates_sent"] > 0 and result["hostile_sent"] > 0
    assert result["acknowledged"] <= result["stored"] <= result["acknowledged"] + 8  # + those in flight at the kill
