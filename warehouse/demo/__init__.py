"""The demo experiment, and writers of every input format the build reads.

The writers follow the real tools' output and are independent of the readers
in :mod:`warehouse.formats`: the demo data set, the tests and the benchmarks
all use them.
"""

from ..profiles.ctmixtures.demo_record import (FIELDS, MODEL_CLASSES, TA_CONFIG_STATS_COUNT_ZEROS,
                                               generate, make_record, make_timing, record_rng,
                                               timing_rng)
from .experiment import DATABASE, FORMS, RUNS, TIMING, write_demo

__all__ = ["DATABASE", "FIELDS", "FORMS", "MODEL_CLASSES", "RUNS", "TA_CONFIG_STATS_COUNT_ZEROS",
           "TIMING", "generate", "make_record", "make_timing",
           "record_rng", "timing_rng", "write_demo"]
