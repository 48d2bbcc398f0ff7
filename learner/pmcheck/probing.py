"""The kernel's half of a graded test cell: run the probes ``grade`` asked for, send the data.

``grade`` replaces each test cell by one call of :func:`probe_cell`, naming the check, the
learner's function and the trials it drew. The data goes back as display data of our own
MIME type, tagged with the cell's nonce; nothing here decides a verdict.
"""

from __future__ import annotations

from typing import Any

from pmcheck import wire
from pmcheck.question import lookup

MIME = "application/vnd.autograder.probe+json"


def probe_cell(nonce: str, requests: str, namespace: dict[str, Any]) -> None:
    """Probe each request's answer (a name in ``namespace``) on its spec and publish the data."""
    from IPython.display import publish_display_data

    for index, request in enumerate(wire.loads(requests)):
        data = _probe(request, namespace)
        try:
            text = wire.dumps(data)
        except (wire.WireError, ValueError, RecursionError):
            text = wire.dumps({"failed": "the check could not send what your answer returned"})
        publish_display_data({MIME: {"nonce": nonce, "index": index, "data": text}})


def _probe(request: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Any]:
    question, _ = lookup(request["check"])
    name = request["answer"]
    if name not in namespace:
        return {
            "failed": f"{name} is not defined: its answer cell did not run to the end "
            "(see the error shown there)"
        }
    return question.run_probe(namespace[name], request["framework"], request["spec"])
