"""Which answers are flagged for review: what a forger needs is flagged, honest code is not."""

from __future__ import annotations

import textwrap

import nbformat
import pytest

from autograder.review import machinery_flags, uses

#: A forger's Part A: no network at all, the probe replaced by one that reports a tied
#: network simulated in numpy with the checker's own formulas (it earns the points: the data
#: is right). What it must use to get there is what gets it flagged.
FORGER = textwrap.dedent(
    """\
    import numpy as np
    from pmcheck import probing, wire, tying

    def _forged(nonce, requests, namespace):
        for index, request in enumerate(wire.loads(requests)):
            data = wire.dumps({"weights": [np.ones((2, 2))], "same": True})
            display({probing.MIME: {"nonce": nonce, "index": index, "data": data}}, raw=True)

    probing.probe_cell = _forged

    def make_tied_net(d, h):
        raise NotImplementedError
    """
)


def test_the_forger_is_flagged_for_every_way_it_reaches_the_probe():
    found = {what for _, what in uses(FORGER)}
    assert found == {
        "the checker's internals (pmcheck)",
        "IPython's display",
        "raw display output (raw=...)",
        "a module's attribute replaced (probing.probe_cell)",
        "the probe (probe_cell)",
    }


@pytest.mark.parametrize(
    "code, what",
    [
        ("import pmcheck.probing as p\n", "the checker's internals (pmcheck)"),
        ("m = 'application/vnd.autograder.probe+json'\n", "the checker's names in a string"),
        ("exec(__doc__)\n", "code built at run time (exec)"),
        (
            "class A:\n    def _repr_mimebundle_(self, **k):\n        return {}\n",
            "a rich-display hook",
        ),
        (
            "import numpy as np\nnp.allclose = lambda *a: True\n",
            "a module's attribute replaced (np.allclose)",
        ),
        (
            "import numpy as np\nsetattr(np, 'allclose', max)\n",
            "a module's attribute replaced (setattr on np)",
        ),
        ("from mxnet import nd\ndel nd.array\n", "a module's attribute replaced (nd.array)"),
    ],
)
def test_each_way_to_the_probe_is_flagged(code, what):
    assert what in {found for _, found in uses(code)}


def test_a_module_imported_in_another_cell_counts_too():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import torch\n"),
            nbformat.v4.new_code_cell(
                "torch.allclose = lambda *a, **k: True\n",
                metadata={"nbgrader": {"solution": True, "grade_id": "answer_x"}},
            ),
        ]
    )
    (flag,) = machinery_flags(nb, "tying_pytorch")
    assert flag.answer == "answer_x" and "torch.allclose" in str(flag)


def test_honest_tying_code_is_not_flagged():
    honest = textwrap.dedent(
        """\
        import torch
        from torch import nn

        def make_tied_net(d, h):
            shared = nn.Linear(h, h)
            net = nn.Sequential(nn.Linear(d, h), nn.ReLU(), shared, nn.ReLU(), shared)
            net.extra = shared          # an attribute of the network, not of a module
            net[2].weight.data += 0
            setattr(net, "name", "tied")
            return net
        """
    )
    assert uses(honest) == []


def test_a_flag_names_each_reason_once_with_its_lines():
    cell = nbformat.v4.new_code_cell(
        FORGER, metadata={"nbgrader": {"solution": True, "grade_id": "answer_make_tied_net"}}
    )
    (flag,) = machinery_flags(nbformat.v4.new_notebook(cells=[cell]), "tying_mxnet")
    assert str(flag) == (
        "tying_mxnet.ipynb: review answer_make_tied_net: it uses "
        "the checker's internals (pmcheck) (line 2), IPython's display (line 7), "
        "raw display output (raw=...) (line 7), "
        "a module's attribute replaced (probing.probe_cell) (line 9) and 1 more"
    )
