"""Split each chapter into framework notebooks, run them (cached, in parallel), merge the outputs.

Before Sphinx reads the chapters that changed, every one of them is split into one notebook
per framework (its text, the untagged cells and that framework's cells). The notebooks whose
code has no run in the cache are executed, each in a kernel of its own, as many at once as
the cores allow. When MyST-NB then reads a chapter, our reader hands it the page with every
cell's outputs merged in from its framework's run, and MyST-NB executes nothing itself.
"""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from myst_nb.core.read import read_myst_markdown_notebook
from nbformat import NotebookNode
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

from . import execute, markdown, notebooks
from .cells import FRAMEWORKS, FrameworkTabError
from .execute import Job, RunCache, Settings

LOGGER = logging.getLogger(__name__)
DOWNLOADS = "_downloads/notebooks"  # where the framework notebooks are offered, under the HTML
ENV_KEY = "framework_notebooks"  # the attribute of the environment that holds PageNotebooks


@dataclass
class PageNotebooks:
    """What the environment keeps of one page: its frameworks and their runs."""

    frameworks: tuple[str, ...]  # in tab order; empty for a page without framework cells
    runs: dict[str, str] = field(default_factory=dict)  # framework -> key of its run record
    files: dict[str, str] = field(default_factory=dict)  # framework -> its download's name
    # What the runs depended on besides the page itself: when it changes, they are stale.
    settings: dict = field(default_factory=dict)
    pins: dict[str, list[str]] = field(default_factory=dict)  # framework -> package==version


@dataclass
class Plan:
    """A page split into its framework notebooks, with the key of each one's run."""

    docname: str
    text: str
    page: NotebookNode
    notebooks: dict[str | None, notebooks.FrameworkNotebook]
    keys: dict[str | None, str]
    pins: dict[str | None, list[str]]
    linked: set[str]  # pages its text links to: their headings are in its notebooks

    def label(self, framework: str | None) -> str:
        return f"{self.docname} ({FRAMEWORKS.get(framework or '', 'all frameworks')})"


def download_name(docname: str, framework: str) -> str:
    return f"{docname.replace('/', '_')}_{framework}.ipynb"


def pages(env: BuildEnvironment) -> dict[str, PageNotebooks]:
    if not hasattr(env, ENV_KEY):
        setattr(env, ENV_KEY, {})
    return getattr(env, ENV_KEY)


def store(app: Sphinx) -> Path:
    """Our part of the build folder: the run records and the pages' assembled notebooks."""
    return Path(app.outdir).parent / ".framework_notebooks"


def run_cache(app: Sphinx) -> RunCache:
    return RunCache(store(app) / "runs")


def assembled(app: Sphinx, name: str) -> Path:
    return store(app) / "pages" / name


def kernel_log(app: Sphinx, docname: str, framework: str | None) -> Path:
    return store(app) / "logs" / f"{docname.replace('/', '_')}_{framework or 'all'}.log"


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


@functools.cache
def _version(package: str) -> str:
    return importlib.metadata.version(package)


@dataclass
class _State:
    """The build being run, for MyST-NB's notebook reader, which is handed only the text."""

    app: Sphinx | None = None
    targets: dict[str, markdown.Target] = field(default_factory=dict)
    frameworks_of: dict[str, list[str]] = field(default_factory=dict)  # docname -> frameworks
    plans: dict[str, Plan] = field(default_factory=dict)


STATE = _State()


def run_settings_key(run_settings: Settings) -> dict:
    """The execution settings that can change a run's outputs."""
    return {
        "threads": run_settings.threads,
        "timeout": run_settings.timeout,
        "allow_errors": run_settings.allow_errors,
        # how a run's outputs are recorded (a record made before this was, runs again)
        "streams": "merged",  # execute.merge_streams
    }


def settings(app: Sphinx) -> Settings:
    config = app.env.mystnb_config
    return Settings(
        threads=execute.kernel_threads(),
        timeout=config.execution_timeout,
        allow_errors=config.execution_allow_errors,
        in_temp=config.execution_in_temp,
    )


def _is_notebook_page(app: Sphinx, docname: str) -> bool:
    path = Path(app.env.doc2path(docname))
    return path.suffix == ".md" and path.is_file()


def _scan(app: Sphinx, env: BuildEnvironment) -> None:
    """Find every page's labels and frameworks, which links between notebooks need."""
    texts = {}
    STATE.frameworks_of = {}
    for docname in sorted(env.found_docs):
        if not _is_notebook_page(app, docname):
            continue
        texts[docname] = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        page = read_myst_markdown_notebook(texts[docname], add_source_map=True)
        source = str(env.doc2path(docname, False))
        try:
            found = notebooks.page_frameworks(page, source)
        except FrameworkTabError:
            found = []  # reported when the page itself is read
        STATE.frameworks_of[docname] = found
    STATE.targets = markdown.find_targets(texts)


def plan(app: Sphinx, docname: str, text: str) -> Plan:
    """Split a page into its framework notebooks, each ready to run, with their keys."""
    env = app.env
    source = str(env.doc2path(docname, False))
    page = read_myst_markdown_notebook(text, add_source_map=True)
    linked: set[str] = set()

    def link_for(framework: str | None):
        def link(target: str, anchor: str) -> str | None:
            linked.add(target)
            if target == docname:
                return f"#{anchor}" if anchor else None
            if framework not in STATE.frameworks_of.get(target, []):
                return None  # that page has no notebook of this framework
            name = download_name(target, framework)  # all of them sit in one folder
            return f"{name}#{anchor}" if anchor else name

        return link

    def convert(text: str, framework: str | None) -> str:
        # Each framework's notebook links to the same framework's notebooks.
        def directive(name: str, argument: str, body: str) -> str | None:
            return app.emit_firstresult(
                "framework-tabs-directive", name, argument, body, framework, DOWNLOADS
            )

        return markdown.to_markdown(
            text, STATE.targets, link_for(framework), directive, where=source
        )

    def first_cell(framework: str | None, notebook: NotebookNode) -> NotebookNode:
        return notebooks.install_cell(
            framework,
            notebook,
            app.config.html_title or app.config.project,
            _pins(framework, notebook),
        )

    split = notebooks.split(page, source, convert, first_cell)
    pins = {framework: _pins(framework, nb.notebook) for framework, nb in split.items()}
    run_settings = run_settings_key(settings(app))
    keys = {
        framework: notebooks.run_key(notebook, {**run_settings, "packages": pins[framework]})
        for framework, notebook in split.items()
    }
    return Plan(docname, text, page, split, keys, pins, linked)


def _pins(framework: str | None, notebook: NotebookNode) -> list[str]:
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return notebooks.pins(framework, sources, _distributions(), _version)


def _executes(app: Sphinx, docname: str) -> bool:
    config = app.env.mystnb_config
    if config.execution_mode == "off":
        return False
    path = PurePosixPath(Path(app.env.doc2path(docname)).as_posix())
    return not any(path.match(pattern) for pattern in config.execution_excludepatterns)


def _report(app: Sphinx, outcome: execute.Outcome, docname: str) -> None:
    config = app.env.mystnb_config
    if not outcome.error:
        LOGGER.info(f"{outcome.job.label}: executed in {outcome.seconds:.1f} s")
        return
    message = f"{outcome.job.label}: executing the notebook failed: {outcome.summary}"
    if config.execution_show_tb:
        message += f":\n{outcome.error}"
    if config.execution_raise_on_error:
        raise FrameworkTabError(message)
    LOGGER.warning(message, type="framework_tabs", subtype="exec", location=docname)


def before_read(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    """Plan every page about to be read and run, in parallel, what the cache does not hold."""
    STATE.app = app
    STATE.plans = {}
    wanted = [name for name in docnames if _is_notebook_page(app, name)]
    if not wanted:
        return
    _scan(app, env)
    cache = run_cache(app)
    force = env.mystnb_config.execution_mode in ("force", "inline")
    jobs, owners = [], {}
    for docname in wanted:
        text = Path(env.doc2path(docname)).read_text(encoding="utf-8")
        page_plan = plan(app, docname, text)
        STATE.plans[docname] = page_plan
        if not _executes(app, docname):
            continue
        for framework in page_plan.notebooks:
            key = page_plan.keys[framework]
            if key in owners or (not force and cache.path(key).is_file()):
                continue
            owners[key] = docname
            jobs.append(_job(app, docname, page_plan, framework))
    if not jobs:
        return
    run_settings = settings(app)
    workers = app.config.framework_tabs_jobs or None
    LOGGER.info(
        f"framework notebooks: running {len(jobs)} "
        f"({run_settings.threads} math thread(s) per kernel)"
    )

    def done(outcome: execute.Outcome) -> None:
        if outcome.notebook is not None and not outcome.error:
            cache.put(outcome.job.key, outcome.notebook)
        _report(app, outcome, owners[outcome.job.key])

    execute.run_all(jobs, run_settings, workers, done)


def _job(app, docname: str, page_plan, framework: str) -> Job:
    """The run of ``docname``'s notebook for ``framework``, in the page's own folder."""
    return Job(
        page_plan.keys[framework],
        page_plan.notebooks[framework].notebook,
        Path(app.env.doc2path(docname)).parent,
        page_plan.label(framework),
        kernel_log(app, docname, framework),
    )


def read_notebook(text: str) -> NotebookNode:
    """MyST-NB's reader for our pages: the page with the outputs of its framework runs."""
    app = STATE.app
    env = app.env
    docname = env.docname
    page_plan = STATE.plans.pop(docname, None)
    if page_plan is None or page_plan.text != text:
        if page_plan is None:
            _scan(app, env)
        page_plan = plan(app, docname, text)
    page = page_plan.page
    if not page_plan.notebooks:  # a page of text only: no kernel to start
        page.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
        pages(env)[docname] = PageNotebooks(())
        return page
    for target in page_plan.linked - {docname}:
        env.note_dependency(str(env.doc2path(target)))
    cache = run_cache(app)
    runs = {}
    for framework, notebook in page_plan.notebooks.items():
        key = page_plan.keys[framework]
        executed = cache.get(key) if _executes(app, docname) else None
        if executed is None and _executes(app, docname):
            # Not run before reading (a page changed by another extension): run it now.
            outcome = execute.run(_job(app, docname, page_plan, framework), settings(app))
            _report(app, outcome, docname)
            if outcome.notebook is not None and not outcome.error:
                cache.put(key, outcome.notebook)
                executed = outcome.notebook
        runs[framework] = (
            notebooks.with_outputs(notebook, executed) if executed is not None else notebook
        )
    merged = notebooks.merge(page, runs)
    merged.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
    record = PageNotebooks(
        tuple(fw for fw in FRAMEWORKS if fw in runs), settings=run_settings_key(settings(app))
    )
    for framework in record.frameworks:
        record.pins[framework] = page_plan.pins[framework]
        name = download_name(docname, framework)
        execute.write_if_changed(assembled(app, name), _notebook_text(runs[framework].notebook))
        record.runs[framework] = page_plan.keys[framework]
        record.files[framework] = name
    pages(env)[docname] = record
    return merged


def _notebook_text(notebook: NotebookNode) -> str:
    import nbformat

    return nbformat.writes(notebook) + "\n"


def outdated(
    app: Sphinx, env: BuildEnvironment, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    """Pages to read again although their text is the same: what their runs depended on
    changed (a package's version, the kernels' threads), or their notebooks are gone."""
    current = run_settings_key(settings(app))
    stale = []
    for docname, record in pages(env).items():
        if not record.runs or docname in added | changed | removed:
            continue
        versions_moved = any(
            _installed(pin.split("==")[0]) != pin.split("==")[1]
            for pins in record.pins.values()
            for pin in pins
        )
        missing = any(not assembled(app, name).is_file() for name in record.files.values())
        if record.settings != current or versions_moved or missing:
            stale.append(docname)
    return stale


def _installed(package: str) -> str | None:
    try:
        return _version(package).split("+")[0]
    except importlib.metadata.PackageNotFoundError:
        return None


def purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    pages(env).pop(docname, None)


def merge_info(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    """Take the pages a parallel reader process read into the main environment."""
    theirs = pages(other)
    pages(env).update({name: theirs[name] for name in docnames if name in theirs})


def prune(app: Sphinx, exception: Exception | None) -> None:
    """Forget runs that no page uses any more, so that the cache does not grow forever."""
    if exception is None and app.env.mystnb_config.execution_mode != "off":
        keep = {key for record in pages(app.env).values() for key in record.runs.values()}
        if keep:
            run_cache(app).prune(keep)


def use_our_reader(app: Sphinx, config) -> None:
    config.nb_custom_formats = {
        ".md": ("framework_tabs.build.read_notebook", {}, False),
        **config.nb_custom_formats,
    }


def setup(app: Sphinx) -> None:
    app.add_config_value("framework_tabs_jobs", 0, "env", types=[int])
    # (name, argument, body, framework, folder of the notebooks) -> Markdown or None
    app.add_event("framework-tabs-directive")
    # Before MyST-NB registers its custom formats (priority 500).
    app.connect("config-inited", use_our_reader, priority=400)
    app.connect("env-get-outdated", outdated)
    app.connect("env-before-read-docs", before_read)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge_info)
    app.connect("build-finished", prune, priority=900)
