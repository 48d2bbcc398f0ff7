"""Do the access checks pass right answers, catch wrong ones and forged probe data, and say why?"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from pmcheck import access, frameworks, wire
from pmcheck.question import MALFORMED

FRAMEWORKS = frameworks.FRAMEWORKS


def test_shapes_may_be_lists_or_torch_sizes():
    def as_lists(net):
        return {name: list(p.shape) for name, p in net.named_parameters()}

    def as_sizes(net):
        return {name: p.shape for name, p in net.named_parameters()}

    for answer in (as_lists, as_sizes):
        access.check_param_shapes_examples(answer, "pytorch")


def test_a_shape_must_be_a_shape():
    def as_strings(net):
        return {name: str(tuple(p.shape)) for name, p in net.named_parameters()}

    with pytest.raises(AssertionError, match="tuple of ints"):
        access.check_param_shapes_examples(as_strings, "pytorch")


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_judges_parameter_names_are_each_frameworks_own(framework):
    """Are the names and shapes the judge expects, from a net's description alone, the ones
    the framework gives the net built from it (MXNet: each layer's names and shapes)?"""
    fw = frameworks.get(framework)
    specs = (
        access.PARAM_SHAPES.specs("public", framework)
        + access.PARAM_SHAPES.specs("custom", framework)
        + access.PARAM_SHAPES.specs("random", framework, trials=20)
    )
    for spec in specs:
        net = access.build(fw, spec["net"], spec["d"])
        own = {name: fw.shape(p) for name, p in fw.named_parameters(net).items()}
        layers = access.layers(framework, spec["net"])
        if framework == "mxnet":
            assert access.expected_parameters(framework, spec["net"]) is None
            by_layer = Counter(
                tuple(
                    sorted(
                        (name.split("_", 1)[1], shape)
                        for name, shape in own.items()
                        if name.split("_", 1)[0] == prefix
                    )
                )
                for prefix in {name.split("_", 1)[0] for name in own}
            )
            assert by_layer == Counter(tuple(sorted(leaves)) for _, _, leaves in layers)
        else:
            assert list(own.items()) == list(
                access.expected_parameters(framework, spec["net"]).items()
            )


def test_the_chapter_nets_parameters_are_known_from_their_description():
    assert access.expected_parameters("pytorch", access.example_mlp("pytorch")) == {
        "0.weight": (8, 4),
        "0.bias": (8,),
        "2.weight": (1, 8),
        "2.bias": (1,),
    }
    rgnet = access.expected_parameters("pytorch", access.rgnet("pytorch"))
    assert len(rgnet) == 18 and rgnet["0.block 3.2.weight"] == (4, 8)
    custom = access.expected_parameters("mindspore", access.custom_net())
    assert custom["0.encoder.2.moving_variance"] == (6,) and "0.head.bias" not in custom
    assert [kind for _, kind, _ in access.layers("mxnet", access.custom_net())] == [
        "dense",
        "norm",
        "dense",
        "dense",
    ]


def test_random_nets_are_nested_and_differ():
    specs = access.PARAM_SHAPES.specs("random", "pytorch", trials=10)
    names = [tuple(access.expected_parameters("pytorch", spec["net"])) for spec in specs]
    assert len(set(names)) == 10
    assert all(max(name.count(".") for name in net) >= 4 for net in names)


def honest(question, answer, framework, spec):
    """What an untouched probe sends for ``answer``, after the wire (as the judge gets it)."""
    spec = wire.loads(wire.dumps(spec))
    return spec, wire.loads(wire.dumps(question.run_probe(answer, framework, spec)))


def test_a_truth_emptied_to_match_an_empty_answer_fails():
    question = access.PARAM_SHAPES
    spec, data = honest(question, lambda net: {}, "pytorch", question.specs("public", "pytorch")[1])
    assert "an empty dict" in question.verdict("pytorch", spec, data)
    assert question.verdict("pytorch", spec, {**data, "truth": []}) == MALFORMED


def test_a_truth_renamed_to_match_a_hard_coded_answer_fails():
    question = access.PARAM_SHAPES
    answer = {"0.weight": (8, 4), "0.bias": (8,), "2.weight": (1, 8), "2.bias": (1,)}
    spec, data = honest(
        question, lambda net: answer, "pytorch", question.specs("public", "pytorch")[1]
    )
    assert "the nested net rgnet" in question.verdict("pytorch", spec, data)
    forged = {**data, "truth": [[name, list(shape)] for name, shape in answer.items()]}
    assert question.verdict("pytorch", spec, forged) == MALFORMED


def test_a_forged_mxnet_truth_must_fit_the_net_layer_by_layer():
    question = access.PARAM_SHAPES
    spec = question.specs("custom", "mxnet")[0]
    spec, data = honest(
        question, lambda net: {n: p.shape for n, p in net.collect_params().items()}, "mxnet", spec
    )
    assert question.verdict("mxnet", spec, data) is None
    # the BatchNorm's running statistics left out of both the truth and the answer
    kept = [[name, shape] for name, shape in data["truth"] if "running" not in name]
    answer = [entry for entry in data["answer"] if "running" not in entry["key"]]
    assert question.verdict("mxnet", spec, {**data, "truth": kept, "answer": answer}) == MALFORMED
    # one layer's parameters under two prefixes
    moved = [
        [name.replace("batchnorm", "dense") if "beta" in name else name, shape]
        for name, shape in data["truth"]
    ]
    assert question.verdict("mxnet", spec, {**data, "truth": moved}) == MALFORMED
    # a kind of parameter no MXNet layer has
    renamed = [[name.replace("weight", "kernel"), shape] for name, shape in data["truth"]]
    assert question.verdict("mxnet", spec, {**data, "truth": renamed}) == MALFORMED


def test_hidden_block_indexes_never_repeat_back_to_back():
    seen = []

    def block_bias(rgnet, i):
        seen.append(i)
        return rgnet[0][i][0].bias

    for _ in range(40):  # the draw is random: look at many, not one
        access.check_block_bias_random(block_bias, "pytorch", trials=5)
        assert all(a != b for a, b in zip(seen, seen[1:])), seen
        seen.clear()


def reference_block_bias(rgnet, i):
    return rgnet[0][i][0].bias


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_bias_claimed_but_not_written_through_fails(framework):
    question = access.BLOCK_BIAS
    spec, data = honest(
        question, reference_block_bias, framework, question.specs("random", framework, trials=1)[0]
    )
    assert question.verdict(framework, spec, data) is None
    # the readback left at the bias's own values: nothing was written through the object
    assert question.verdict(framework, spec, {**data, "readback": data["values"]}) == MALFORMED
    # a copy of the values, reported as the parameter itself
    numpy = frameworks.get(framework).numpy
    _, copy = honest(
        question, lambda rgnet, i: numpy(reference_block_bias(rgnet, i)), framework, spec
    )
    assert "instead of the parameter itself" in question.verdict(framework, spec, copy)
    forged = {**copy, "kind": "parameter", "place": data["place"]}
    assert question.verdict(framework, spec, forged) == MALFORMED


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_the_place_of_a_wrong_parameter_is_checked_by_its_values(framework):
    question = access.BLOCK_BIAS
    spec = question.specs("public", framework)[0]
    spec, weight = honest(question, lambda rgnet, i: rgnet[0][i][0].weight, framework, spec)
    message = question.verdict(framework, spec, weight)
    assert "got the weight of layer 0 of block 1" in message and "a weight, not the bias" in message
    want = {"pytorch": "'0.block 1.0.bias'", "mindspore": "'0.1.0.bias'"}.get(framework)
    assert want in message if want else re.search(r"the parameter 'dense\d+_bias'", message)
    # the weight's report, claiming to be another place or the bias itself
    assert question.verdict(framework, spec, {**weight, "place": [2, 0, "weight"]}) == MALFORMED
    claimed = question.verdict(
        framework, spec, {**weight, "kind": "parameter", "place": [1, 0, "bias"]}
    )
    assert claimed is not None and "other values than the check wrote" in claimed


def test_a_new_parameter_on_the_same_storage_is_not_the_nets():
    from torch import nn

    def block_bias(rgnet, i):
        return nn.Parameter(rgnet[0][i][0].bias.data)

    with pytest.raises(AssertionError, match="; got Parameter Parameter containing"):
        access.check_block_bias(block_bias, "pytorch")


def test_hidden_model_sizes_are_never_the_example():
    import torch

    sizes = []

    class Recorder(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            sizes.append(n)
            self.weight1 = torch.nn.Parameter(torch.rand(n, n))
            self.weight2 = torch.rand(n, n)

    access.check_my_model_random(Recorder, "pytorch", trials=3)
    assert len(set(sizes)) == 3 and 20 not in sizes


def test_a_readback_through_weight1_that_does_not_match_fails():
    import torch

    class MyModel(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight1 = torch.nn.Parameter(torch.rand(n, n))
            self.weight2 = torch.rand(n, n)

    question = access.MY_MODEL
    spec, data = honest(question, MyModel, "pytorch", question.specs("random", "pytorch")[0])
    assert question.verdict("pytorch", spec, data) is None
    for readback in (np.zeros_like(data["readback"]), None):
        message = question.verdict("pytorch", spec, {**data, "readback": readback})
        assert "not the registered parameter" in message


def test_a_crashing_answer_is_one_plain_line():
    def param_shapes(net):
        raise KeyError("weight")

    with pytest.raises(AssertionError, match=r"^param_shapes\(net\) raised KeyError: 'weight'$"):
        access.check_param_shapes_examples(param_shapes, "pytorch")
