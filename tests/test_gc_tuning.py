"""A serving node hides its start-up objects from the cycle collector and collects less often."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from onewatch.gc_tuning import YOUNG_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_young_collections_rarer() -> None:
    gc.unfreeze()
    long_lived = [{"built": index} for index in range(1000)]
    tune_for_serving()
    assert gc.get_freeze_count() >= len(long_lived)
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
