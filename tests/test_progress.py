"""Progress bars are drawn on terminals only: no noise in CI logs or pipes."""

import io

from qplane.progress import enabled, steps, track


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_no_bar_off_a_terminal():
    stream = io.StringIO()
    assert not enabled(stream)
    assert list(track(range(4), "cases", stream=stream)) == [0, 1, 2, 3]
    with steps("report", 2, stream=stream) as advance:
        advance(1, "reading")
    assert stream.getvalue() == ""


def test_a_bar_on_a_terminal():
    stream = _Terminal()
    assert list(track(["a", "b"], "cases", label=str, stream=stream)) == ["a", "b"]
    assert "cases" in stream.getvalue() and "2/2" in stream.getvalue()
