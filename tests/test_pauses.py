"""The server keeps long-lived objects out of the garbage collector's full passes (xid_app.pauses)."""

import gc

from xid_app.pauses import FrozenPages


class Cycle:
    def __init__(self):
        self.me = self


def test_an_open_page_is_frozen_and_closed_pages_cycles_are_collected_together():
    pages = FrozenPages(closed_before_collect=3)
    try:
        pages.server_started()
        Cycle()  # garbage in a cycle, made before a page opens: frozen with the page, not lost
        pages.page_open()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())  # out of the collector's sight
        pages.page_closed()
        pages.page_closed()
        assert pages.collections == 0 and gc.get_freeze_count() >= frozen
        pages.page_closed()  # the third: everything collected once, then frozen again
        assert pages.collections == 1
        gc.unfreeze()
        assert not any(isinstance(o, Cycle) for o in gc.get_objects())  # the cycle was collected
    finally:
        gc.unfreeze()
