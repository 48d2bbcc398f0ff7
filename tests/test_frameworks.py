"""Do the three frameworks live together in one process at the pinned versions?"""

import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import os
    os.environ.setdefault("GLOG_v", "3")
    import numpy as np
    np.bool = bool  # MXNet 1.9.1 still uses np.bool, which numpy 1.24 removed
    import mxnet as mx
    import mindspore as ms
    import torch
    from mxnet.gluon import nn as gnn
    from mindspore import nn as msnn

    X = np.arange(8, dtype=np.float32).reshape(2, 4) / 8
    W = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    expected = X @ W.T

    pt = torch.nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        pt.weight.copy_(torch.from_numpy(W))
    mxl = gnn.Dense(3, use_bias=False, in_units=4)
    mxl.initialize()
    mxl.weight.set_data(mx.nd.array(W))
    msl = msnn.Dense(4, 3, has_bias=False)
    msl.weight.set_data(ms.Tensor(W))
    outputs = {
        "torch": pt(torch.from_numpy(X)).detach().numpy(),
        "mxnet": mxl(mx.nd.array(X)).asnumpy(),
        "mindspore": msl(ms.Tensor(X)).asnumpy(),
    }
    print(torch.__version__, mx.__version__, ms.__version__, np.__version__)
    for name, out in outputs.items():
        print(name, out.shape, bool(np.allclose(out, expected, atol=1e-6)))
    """
)


def test_frameworks_import_together_and_compute_the_same_forward_pass():
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    versions, *forward = result.stdout.split("\n")[:4]
    assert versions.split() == ["2.13.0+cpu", "1.9.1", "2.10.0", "1.26.4"]
    assert forward == [
        "torch (2, 3) True",
        "mxnet (2, 3) True",
        "mindspore (2, 3) True",
    ]
    assert "[WARNING]" not in result.stderr
