import subprocess
import sys

import pytest

from yinqi.testing.failpoints import FailpointTriggered, failpoint


def test_an_unarmed_failpoint_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YINQI_FAILPOINTS", raising=False)
    failpoint("x.y")


def test_raise_action_raises_at_the_named_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YINQI_FAILPOINTS", "a.b=raise")
    failpoint("other")
    with pytest.raises(FailpointTriggered):
        failpoint("a.b")


def test_nth_action_fires_only_on_the_kth_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YINQI_FAILPOINTS", "n.point=nth:3:raise")
    failpoint("n.point")
    failpoint("n.point")
    with pytest.raises(FailpointTriggered):
        failpoint("n.point")
    failpoint("n.point")


def test_exit_action_kills_the_process_without_cleanup() -> None:
    code = "from yinqi.testing.failpoints import failpoint\nfailpoint('p')\nprint('survived')"
    proc = subprocess.run([sys.executable, "-c", code], env={"YINQI_FAILPOINTS": "p=exit"},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 137 and "survived" not in proc.stdout
