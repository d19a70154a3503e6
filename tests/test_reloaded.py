"""Values kept in memory and loaded again only when their table has grown (xid_app.reloaded)."""

from xid_app.reloaded import Reloaded


def test_the_version_is_read_at_most_every_interval_and_at_once_after_a_change():
    version, loads, reads = [1], [], []

    def read_version():
        reads.append(1)
        return version[0]

    value = Reloaded(read_version, lambda: loads.append(version[0]) or len(loads), check_every_s=3600)
    assert value.get() == 1 and len(reads) == 1
    version[0] = 2  # another process added rows: seen after the interval, not at every get
    assert value.get() == 1 and len(reads) == 1
    value.changed()  # added here: seen at once
    assert value.get() == 2 and loads == [1, 2] and len(reads) == 2
    value.check_every_s = 0
    assert value.get() == 2 and loads == [1, 2] and len(reads) == 3  # same version: not loaded again
    with value.held():
        assert value.get(wait=False) is None  # a load in progress elsewhere: carry on without it
