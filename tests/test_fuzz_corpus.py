"""The crash corpus: every input that once crashed a reader (found by fuzzing or by hand, issue 20)
kept as a file in tests/fuzz_corpus/ and checked on every ``make test``: ``iadsim validate`` exits
with 0 or 2 and no traceback. Add a file here for each crash ``make fuzz`` finds."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from iadsim.cli import app

CORPUS = Path(__file__).parent / "fuzz_corpus"


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.yaml")), ids=lambda p: p.name)
def test_corpus_file_is_refused_cleanly(path):
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 2)
    assert "Traceback" not in result.output


def test_the_corpus_is_not_empty():
    assert len(list(CORPUS.glob("*.yaml"))) >= 10
