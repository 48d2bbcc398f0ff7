"""The in-notebook ``check(...)`` on a real notebook's public tests, with PyTorch in this process.

No kernel: the learner's functions are handed to ``check`` directly. Kept out of tests/unit
because it imports a framework.
"""

from __future__ import annotations

import pytest

from pmcheck import check


def test_check_runs_a_real_notebooks_public_tests_in_this_process():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def make_tied_net(d, h):
        shared = nn.Linear(h, h)
        return nn.Sequential(
            nn.Linear(d, h), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(h, 1)
        )

    report = check(
        "tying_pytorch",
        {"make_tied_net": make_tied_net, "tied_weight_grad": lambda w, x: 2 * w * x},
    )
    assert report.all_passed, report
    assert "Public tests: 8 of 8 points passed." in repr(report)
    wrong = check(
        "tying_pytorch", {"make_tied_net": make_tied_net, "tied_weight_grad": lambda w, x: w * x}
    )
    assert not wrong.all_passed
    with pytest.raises(LookupError, match="does not know the notebook 'tying_tensorflow'"):
        check("tying_tensorflow", {})
