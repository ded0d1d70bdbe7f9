"""Shared settings of the fuzz tests: a fast profile in ``make test``, a long one in ``make fuzz``.

``IADSIM_FUZZ_EXAMPLES`` sets the number of cases of each fuzz test (default 200; ``make fuzz``
gives 12,500 to each of its 9 tests, 112,500 in all). A crash found is shrunk by hypothesis;
keep it as a file in ``tests/fuzz_corpus/`` (``*.yaml`` for scenario text), which
``tests/test_fuzz_corpus.py`` runs on every ``make test``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("IADSIM_FUZZ_EXAMPLES", "200"))

FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=FUZZ_EXAMPLES <= 200,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.filter_too_much])
"""The fast profile is derandomized so that ``make test`` is repeatable; the long one explores."""
