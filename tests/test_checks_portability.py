"""Do the portability checks know each framework's checkpoint names, compute the truth with
numpy, and say which entry is missing or wrong?"""

from __future__ import annotations

import numpy as np
import pytest

from pmcheck import access, frameworks, portability

FRAMEWORKS = frameworks.FRAMEWORKS


def _nets() -> list[tuple[dict, int | None]]:
    gen = np.random.default_rng(12)
    return [
        (portability.example_mlp(), 4),
        *(portability.random_mlp(gen) for _ in range(3)),
        (portability.example_cnn()[0], None),
        portability.random_cnn(gen, full=True)[:1] + (None,),
    ]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_named_entries_are_each_frameworks_own_checkpoint(framework):
    """Are the names and shapes the judge expects those of the framework's own checkpoint?

    PyTorch: state_dict(); MXNet: the file save_parameters writes; MindSpore: the
    parameters of the net, by the names save_checkpoint uses.
    """
    fw = frameworks.get(framework)
    for node, d in _nets():
        net = access.build(fw, node, d)
        truth = {name: shape for name, _, _, shape in portability.entries(framework, node)}
        assert {name: value.shape for name, value in _checkpoint(fw, net).items()} == truth


def _checkpoint(fw: frameworks.Framework, net) -> dict[str, np.ndarray]:
    if fw.key == "pytorch":
        return {name: value.numpy() for name, value in net.state_dict().items()}
    if fw.key == "mxnet":
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            net.save_parameters(str(Path(folder) / "net.params"))
            return {
                name: value.asnumpy()
                for name, value in fw.mx.nd.load(str(Path(folder) / "net.params")).items()
            }
    return {name: param.asnumpy() for name, param in net.parameters_dict().items()}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_numpy_forward_is_each_frameworks_inference(framework):
    """Does the judge's numpy pass give what each framework's net predicts with the state?"""
    fw = frameworks.get(framework)
    gen = np.random.default_rng(3)
    for node, d in _nets():
        net = access.build(fw, node, d)
        state = portability.seeded_state(framework, node, seed=5)
        assert fw.load_state(net, state) == ([], [])
        shape = (
            (d,) if d is not None else (1, 6, 6) if node == portability.example_cnn()[0] else None
        )
        if shape is None:
            continue
        X = gen.normal(size=(4, *shape))
        truth, bound = portability.forward(node, portability._by_layer(framework, node, state), X)
        np.testing.assert_allclose(fw.predict(net, X), truth, atol=1e-5 * bound.max())


def test_one_seed_gives_every_framework_the_same_numbers():
    """Is a seed's state the same arrays in every framework, only under other names?"""
    node, _ = portability.example_cnn()
    by_role = {}
    for framework in FRAMEWORKS:
        state = portability.seeded_state(framework, node, seed=7)
        for name, index, role, _ in portability.entries(framework, node):
            if role != "count":
                by_role.setdefault((index, role), []).append(state[name])
    for arrays in by_role.values():
        assert len(arrays) == 3 and all(np.array_equal(a, arrays[0]) for a in arrays)


def test_a_wrongly_named_batchnorm_entry_is_named():
    def keep_names(state, source, target):
        return {
            name: value for name, value in state.items() if not name.endswith("num_batches_tracked")
        }

    with pytest.raises(AssertionError) as failure:
        portability.check_convert_names(keep_names, "mindspore")
    assert "in a BatchNorm layer" in str(failure.value)


def test_a_kept_count_is_named():
    """Is PyTorch's num_batches_tracked, carried over to MXNet, named as the one thing wrong?"""
    convert_names = _reference_convert_names()

    def keep_count(state, source, target):
        converted = convert_names(state, source, target)
        converted.update(
            {name: value for name, value in state.items() if name.endswith("num_batches_tracked")}
        )
        return converted

    with pytest.raises(AssertionError, match="PyTorch's count of training passes"):
        portability.check_convert_names(keep_count, "mxnet")


def _reference_convert_names():
    from helpers.notebook_runner import source_notebook

    cell = next(
        cell
        for cell in source_notebook("portability_mxnet").cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "answer_convert_names"
    )
    namespace: dict = {}
    exec(cell.source, namespace)
    return namespace["convert_names"]


def test_a_patched_probe_cannot_pass_with_made_up_values():
    """Does the judge, from the spec alone, fail a state that has the right names only?"""
    spec = portability.TO_NUMPY.specs("public", "pytorch")[0]
    truth = portability.seeded_state("pytorch", spec["net"], spec["seed"])
    forged = {name: np.zeros_like(value) for name, value in truth.items()}
    assert "other values" in portability.TO_NUMPY.verdict("pytorch", spec, {"state": forged})
    assert portability.TO_NUMPY.verdict("pytorch", spec, {"state": truth}) is None
