"""Run one notebook in a fresh kernel of ours and say what went wrong, never raising."""

from __future__ import annotations

import asyncio
import atexit
import json
import signal
import subprocess
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode

from pmcheck.wire import MAX_BYTES
from .judging import probe_payload
from .kernel import SANDBOX_FAILED, FactoryLost, KernelFactory, Limits, Scratch, kernel_manager

#: ename of the error put into code cells the kernel never finished.
NOT_RUN = "CellNotRun"
#: Probe data kept per notebook (several of the largest honest payloads).
PAYLOAD_BYTES = 4 * MAX_BYTES


@dataclass
class Execution:
    """An executed notebook and the problems met while running it (one line each)."""

    notebook: NotebookNode
    problems: list[str] = field(default_factory=list)
    #: cell index -> the probe payloads its cell sent (only for the cells named as probes)
    payloads: dict[int, list] = field(default_factory=dict)
    #: the kernel died because its kernel factory did: the submission is not to blame
    factory_lost: bool = False


class _Client(NotebookClient):
    """nbclient's runner, keeping count of what ran and capping the output it keeps."""

    def __init__(
        self, nb: NotebookNode, km, limits: Limits, probe_cells: frozenset[int] = frozenset()
    ) -> None:
        super().__init__(
            nb,
            km=km,
            timeout=int(limits.cell_timeout),
            startup_timeout=120,
            allow_errors=True,
            interrupt_on_timeout=True,
            shutdown_kernel="immediate",
            error_on_timeout={
                "ename": "CellTimeoutError",
                "evalue": f"the cell ran longer than {limits.cell_timeout:g} s "
                "and was interrupted",
                "traceback": [],
            },
            on_cell_executed=self._executed,
        )
        self.limits = limits
        self.finished: set[int] = set()
        self.timed_out: list[int] = []
        self.output_size = 0
        self.overflowed = False
        self.process = None
        self.probe_cells = probe_cells
        self.payloads: dict[int, list] = {}
        self.payload_size = 0

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        # fail closed: a sandboxed kernel runs no cell before its /run is sealed
        if getattr(self.km.provisioner, "sealed", True) is not True:
            raise RuntimeError("the sandbox's /run was not sealed; no cell may run")
        return await super().async_execute_cell(cell, cell_index, *args, **kwargs)

    async def async_start_new_kernel(self, **kwargs) -> None:
        await super().async_start_new_kernel(**kwargs)
        # kept to read the exit status after nbclient has cleaned up the manager
        self.process = getattr(self.km.provisioner, "process", None)

    def _executed(self, cell: NotebookNode, cell_index: int, execute_reply: dict) -> None:
        self.finished.add(cell_index)
        content = execute_reply.get("content", {}) if execute_reply else {}
        if content.get("status") != "error":
            return
        if content.get("ename") == "CellTimeoutError":
            self.timed_out.append(cell_index)
        # A timed-out cell may carry no error output of its own; without one nbgrader
        # would count it as passed.
        if not any(out.output_type == "error" for out in cell.outputs):
            cell.outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename=content.get("ename", "Error"),
                    evalue=content.get("evalue", ""),
                    traceback=content.get("traceback", []),
                )
            )

    def output(self, outs, msg, display_id, cell_index):
        if cell_index in self.probe_cells and msg.get("msg_type") == "display_data":
            payload = probe_payload(msg.get("content", {}))
            if payload is not None:
                # Probe data has its own budget: it is data for the judge, not output.
                data = payload.get("data") if isinstance(payload, dict) else None
                self.payload_size += len(data) if isinstance(data, str) else 0
                if self.payload_size <= PAYLOAD_BYTES:
                    self.payloads.setdefault(cell_index, []).append(payload)
                return None
        self.output_size += len(json.dumps(msg.get("content", {})))
        if self.output_size <= self.limits.output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if not self.overflowed:
            self.overflowed = True
            outs.append(
                nbformat.v4.new_output(
                    "error",
                    ename="OutputLimitExceeded",
                    evalue=f"more than {self.limits.output_bytes // 1024} KiB of output; "
                    "the rest was dropped and the cell interrupted",
                    traceback=[],
                )
            )
            asyncio.ensure_future(self.km.interrupt_kernel())
        return None


async def run_notebook(
    nb: NotebookNode,
    scratch: Scratch,
    limits: Limits,
    *,
    sandbox: bool = False,
    isolate_home: bool = True,
    probe_cells: frozenset[int] = frozenset(),
    factory: KernelFactory | None = None,
) -> Execution:
    """Execute ``nb`` (in place) in a fresh kernel in ``scratch.work``.

    A sandboxed kernel comes from ``factory`` when one is given (see ``kernel_manager``).

    The display data that ``probe_cells`` send to :mod:`autograder.judging` is kept apart
    from their outputs, in ``Execution.payloads``.

    Every failure -- a kernel that dies or exits, a cell or notebook that runs too
    long, too much output -- becomes a problem line, and every code cell that never
    finished gets an error output, so that no test cell passes by not running.
    """
    km = kernel_manager(
        scratch, limits, sandbox=sandbox, isolate_home=isolate_home, factory=factory
    )
    client = _Client(nb, km, limits, probe_cells)
    problems: list[str] = []
    stopped = ""
    lost = False
    try:
        await asyncio.wait_for(
            client.async_execute(cleanup_kc=True, cwd=str(scratch.work)),
            timeout=limits.notebook_timeout,
        )
    except asyncio.TimeoutError:
        stopped = f"stopped after {limits.notebook_timeout:g} s, the limit for one notebook"
    except DeadKernelError:
        stopped = _death_reason(client.process, scratch, limits, _ran(km))
    except FactoryLost as error:
        stopped, lost = f"the kernel failed: {error}", True
    except Exception as error:  # noqa: BLE001 -- any failure is the submission's problem line
        if client.process is None or client.process.poll() is not None:
            stopped = _death_reason(client.process, scratch, limits, _ran(km))
        else:
            stopped = f"the kernel failed: {type(error).__name__}: {_one_line(str(error))}"
    finally:
        await _shut_down(km)
        # nbclient leaves this behind when the kernel dies while starting
        atexit.unregister(client._cleanup_kernel)
    if stopped:
        problems.append(stopped)
    for index in client.timed_out:
        problems.append(
            f"cell {index + 1}{_cell_label(nb.cells[index])} ran longer than "
            f"{limits.cell_timeout:g} s and was interrupted"
        )
    if client.overflowed:
        problems.append(
            f"more than {limits.output_bytes // 1024} KiB of output; the rest " "was dropped"
        )
    _mark_not_run(nb, client.finished, stopped or "the kernel stopped")
    # a kernel that died or failed while its factory died is the factory's failure
    lost = (
        lost
        or getattr(client.process, "lost", False)
        or bool(factory is not None and factory.gone() and (stopped or problems))
    )
    return Execution(nb, problems, client.payloads, lost)


def _ran(km) -> bool:
    """Did the kernel get to run the learner's code (a sandboxed one: was /run sealed)?"""
    return getattr(km.provisioner, "sealed", False) is True


def _death_reason(process, scratch: Scratch, limits: Limits, ran: bool = False) -> str:
    """Why the kernel stopped. ``ran``: it ran the learner's code, so an exit status that
    would mean the sandbox failed is the learner's own, and the log is theirs to write."""
    try:
        code = process.wait(timeout=5) if process is not None else None
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        tail = scratch.log_tail()
        return "the kernel died" + (f" ({tail})" if tail else "")
    if code == SANDBOX_FAILED and not ran:
        tail = scratch.log_tail(1)
        return "the sandbox could not start the kernel" + (f" ({tail})" if tail else "")
    # a negative status is the signal itself (our launcher dies of the kernel's signal);
    # a shell would report it as 128 + its number
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    if signum == signal.SIGXCPU:
        return f"the kernel used more than {limits.cpu_seconds} s of CPU and was stopped"
    if signum == signal.SIGXFSZ:
        return (
            f"the kernel wrote a file larger than {limits.file_size_bytes >> 20} MiB "
            "and was stopped"
        )
    if signum == signal.SIGKILL:
        return "the kernel was killed (out of memory?)"
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"the kernel crashed ({name})"
    return f"the kernel exited with status {code} (os._exit or sys.exit?)"


async def _shut_down(km) -> None:
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 -- already gone is fine
        pass
    try:
        await km.cleanup_resources()
    except Exception:  # noqa: BLE001
        pass


def _mark_not_run(nb: NotebookNode, finished: set[int], reason: str) -> None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.source.strip() and index not in finished:
            cell.outputs = list(cell.get("outputs", [])) + [
                nbformat.v4.new_output(
                    "error",
                    ename=NOT_RUN,
                    evalue=f"this cell did not finish: {reason}",
                    traceback=[],
                )
            ]


def _cell_label(cell: NotebookNode) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f" ({grade_id})" if grade_id else ""


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""
