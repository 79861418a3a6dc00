"""Bad input on the command line: one clear message, exit 2, never a traceback."""

from __future__ import annotations

import pytest

from warcwire.cli import main


def test_a_bad_restore_timestamp_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["restore", "https://news.example/a.html", "--at", "abc"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.splitlines()[-1] == (
        "warcwire restore: error: argument --at: expected a timestamp such as 20261125 or "
        "20261125093000 (UTC, YYYYMMDDhhmmss or a prefix of it), got 'abc'")
    assert "Traceback" not in err
