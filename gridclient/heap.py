"""Keep the cyclic garbage collector from stalling the GUI.

A full collection walks every tracked object with the GIL held. Once boto3 is loaded that is
~70,000 objects (~30 ms) before the tree holds a single row, and with a 10,000-row folder the
collections that run during the listing took ~50 ms each. Nearly all of those objects come
from imported modules and live for the whole run, so after a batch of imports (start-up; the
first listing, which loads the provider's SDK; a terminal or console) they are moved to the
permanent generation with :func:`gc.freeze`, and later collections walk only what changes.

Call :func:`freeze_imports` at quiet moments on the thread that owns the event loop; it does
nothing unless modules were imported since the last call.

:func:`tune` also makes the young generation larger (10,000 allocations instead of 700): a
listing makes tens of thousands of objects that live, and with Python's defaults they set off a
full collection several times per 10,000-row listing (25–50 ms each, seen as GUI stalls in
bench/bench_tree.py); with it, about once. Garbage cycles wait a little longer to be freed.

:func:`rows_added` does the same for the rows of a big listing: every 20,000 rows put into the
tree (or read from the info cache to be shown), what is tracked then is frozen too. A folder of
100,000 objects was ~500,000 tracked objects (elements, their dicts, nodes) that live as long as
the folder is shown, and one full collection over them took 60–90 ms of the GUI's time; with the
objects' rows packed (:class:`gridclient.elements.PackedElement`: no dicts) it is ~200,000. The tree breaks its own reference cycles when rows
go (a node's children are let go), so frozen rows are freed by their reference counts; what a
freeze can keep is cyclic garbage that happened to exist at that moment.
"""

from __future__ import annotations

import gc
import sys

_modules_at_last_freeze = 0
_rows_since_freeze = 0
YOUNG_THRESHOLD = 10_000
ROWS_PER_FREEZE = 20_000


def tune() -> None:
    """Collector settings for an interactive process (see the module's text); call once at start."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


def freeze_imports(min_new_modules: int = 20) -> bool:
    """gc.freeze() if at least ``min_new_modules`` modules were imported since the last one."""
    global _modules_at_last_freeze
    count = len(sys.modules)
    if count - _modules_at_last_freeze < min_new_modules:
        return False
    _modules_at_last_freeze = count
    gc.freeze()
    return True


def rows_added(count: int) -> bool:
    """``count`` rows went into the tree; gc.freeze() once ROWS_PER_FREEZE have since the last."""
    global _rows_since_freeze
    _rows_since_freeze += count
    if _rows_since_freeze < ROWS_PER_FREEZE:
        return False
    _rows_since_freeze = 0
    gc.freeze()
    return True
