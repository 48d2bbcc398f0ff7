"""Splitting a chapter into framework notebooks and merging their outputs: pure, no kernel."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from myst_nb.core.read import read_myst_markdown_notebook

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))

from framework_tabs import execute, markdown, notebooks, tabs
from framework_tabs.cells import FrameworkTabError
from framework_tabs.downloads import write_zip

HEADER = (
    "---\njupytext:\n  text_representation:\n    format_name: myst\n"
    "kernelspec:\n  name: python3\n  display_name: Python 3\n---\n"
)


def cell(code: str, *tags: str) -> str:
    options = f":tags: [{', '.join(tags)}]\n" if tags else ""
    return f"```{{code-cell}} ipython3\n{options}{code}\n```\n\n"


def page(body: str) -> nbformat.NotebookNode:
    return read_myst_markdown_notebook(HEADER + body, add_source_map=True)


CHAPTER_TEXT = (
    "(top)=\n# A chapter\n\n% an author's note\n\n"
    + cell("import os")
    + cell("import torch\nnet = 'pt'", "pytorch")
    + cell("import numpy as np\nnp.bool = bool\nimport mxnet\nnet = 'mx'", "mxnet")
    + cell("import mindspore\nnet = 'ms'", "mindspore")
    + "Some text.\n\n"
    + cell("print(net)")
)
CHAPTER = page(CHAPTER_TEXT)


def codes(notebook: notebooks.FrameworkNotebook) -> list[str]:
    return [c.source for _, c in notebook.code_cells()]


def outputs(text: str) -> list:
    return [nbformat.v4.new_output("stream", name="stdout", text=text)]


def ran(notebook: notebooks.FrameworkNotebook, printed: dict[str, str]) -> nbformat.NotebookNode:
    """A run of the notebook in which each cell printed what `printed` gives for its code."""
    executed = nbformat.from_dict(notebook.notebook)
    for code_cell in executed.cells:
        if code_cell.cell_type == "code" and code_cell.source in printed:
            code_cell.outputs = outputs(printed[code_cell.source])
    return executed


def test_each_framework_notebook_has_the_text_the_shared_cells_and_only_its_own_cells():
    split = notebooks.split(CHAPTER, "chapter.md")
    assert list(split) == ["pytorch", "mxnet", "mindspore"]
    assert codes(split["pytorch"]) == ["import os", "import torch\nnet = 'pt'", "print(net)"]
    assert codes(split["mindspore"]) == ["import os", "import mindspore\nnet = 'ms'", "print(net)"]
    kinds = [c.cell_type for c in split["mxnet"].notebook.cells]
    assert kinds == ["markdown", "code", "code", "markdown", "code"]
    # Each cell remembers where it sits in the page.
    assert split["mxnet"].positions == (0, 1, 3, 5, 6)


def test_a_notebook_is_plain_nbformat_with_stable_cell_ids_and_no_myst_metadata():
    first = notebooks.split(CHAPTER, "chapter.md")["pytorch"].notebook
    again = notebooks.split(page(CHAPTER_TEXT), "chapter.md")["pytorch"].notebook
    nbformat.validate(first)
    assert set(first.metadata) == {"kernelspec"}
    assert [c.id for c in first.cells] == [c.id for c in again.cells]
    assert nbformat.writes(first) == nbformat.writes(again)


def test_a_page_without_framework_cells_runs_as_one_notebook_and_text_as_none():
    plain = notebooks.split(page("# Plain\n\n" + cell("x = 1")), "plain.md")
    assert list(plain) == [None] and codes(plain[None]) == ["x = 1"]
    assert notebooks.split(page("# Only text\n\nNo code.\n"), "text.md") == {}


@pytest.mark.parametrize(
    "tags, message",
    [
        (("pytorch", "mxnet"), "has 2 framework tags (pytorch, mxnet)"),
        (("pytoch",), "unknown framework tag 'pytoch' (did you mean 'pytorch'?)"),
    ],
)
def test_bad_tags_stop_the_split_naming_file_line_and_cell(tags, message):
    bad = page("# Bad\n\n" + cell("x = 1") + cell("y = 2", *tags))
    with pytest.raises(FrameworkTabError) as error:
        notebooks.split(bad, "index.md")
    assert message in str(error.value)
    assert "index.md, line 17: code cell 2" in str(error.value)


def keys(chapter: nbformat.NotebookNode) -> dict:
    return {
        fw: notebooks.run_key(nb, {"threads": 1})
        for fw, nb in notebooks.split(chapter, "chapter.md").items()
    }


def test_editing_one_mxnet_cell_changes_only_the_key_of_the_mxnet_run():
    before = keys(CHAPTER)
    after = keys(page(CHAPTER_TEXT.replace("net = 'mx'", "net = 'mx, edited'")))
    assert [fw for fw in before if before[fw] != after[fw]] == ["mxnet"]


def test_editing_a_shared_cell_changes_every_key_and_editing_text_none():
    before = keys(CHAPTER)
    shared = keys(page(CHAPTER_TEXT.replace("print(net)", "print(net, 1)")))
    prose = keys(page(CHAPTER_TEXT.replace("Some text.", "Other text.")))
    assert all(before[fw] != shared[fw] for fw in before)
    assert prose == before


def test_a_tag_that_changes_how_a_cell_runs_changes_the_key_one_that_changes_its_look_not():
    before = keys(CHAPTER)
    raises = keys(
        page(CHAPTER_TEXT.replace(":tags: [pytorch]", ":tags: [pytorch, raises-exception]"))
    )
    hidden = keys(page(CHAPTER_TEXT.replace(":tags: [pytorch]", ":tags: [pytorch, hide-input]")))
    assert raises["pytorch"] != before["pytorch"]
    assert hidden == before


def test_the_threads_and_packages_of_a_run_are_part_of_its_key():
    split = notebooks.split(CHAPTER, "chapter.md")["pytorch"]
    assert notebooks.run_key(split, {"threads": 1}) != notebooks.run_key(split, {"threads": 2})
    assert notebooks.run_key(split, {"packages": ["torch==2.13.0"]}) != notebooks.run_key(
        split, {"packages": ["torch==2.14.0"]}
    )


def runs(printed_by: dict[str, dict[str, str]]) -> dict:
    split = notebooks.split(CHAPTER, "chapter.md")
    return {fw: notebooks.with_outputs(nb, ran(nb, printed_by[fw])) for fw, nb in split.items()}


def test_merge_gives_each_framework_cell_its_own_run_outputs():
    merged = notebooks.merge(
        CHAPTER,
        runs(
            {
                "pytorch": {"import torch\nnet = 'pt'": "pt\n", "print(net)": "same\n"},
                "mxnet": {"print(net)": "same\n"},
                "mindspore": {"import mindspore\nnet = 'ms'": "ms\n", "print(net)": "same\n"},
            }
        ),
    )
    texts = [
        (c.source, [o.text for o in c.get("outputs", [])])
        for c in merged.cells
        if c.cell_type == "code"
    ]
    assert texts == [
        ("import os", []),
        ("import torch\nnet = 'pt'", ["pt\n"]),
        ("import numpy as np\nnp.bool = bool\nimport mxnet\nnet = 'mx'", []),
        ("import mindspore\nnet = 'ms'", ["ms\n"]),
        ("print(net)", ["same\n"]),  # the same in every framework: shown once, untagged
    ]
    assert merged.cells[-1].metadata.get("tags", []) == []


def test_a_shared_cell_whose_output_differs_becomes_one_tagged_copy_per_framework():
    merged = notebooks.merge(
        CHAPTER,
        runs(
            {
                "pytorch": {"print(net)": "pt\n"},
                "mxnet": {"print(net)": "mx\n"},
                "mindspore": {"print(net)": "ms\n"},
            }
        ),
    )
    copies = [c for c in merged.cells if c.cell_type == "code" and c.source == "print(net)"]
    assert [(c.metadata["tags"], c.outputs[0].text) for c in copies] == [
        (["pytorch"], "pt\n"),
        (["mxnet"], "mx\n"),
        (["mindspore"], "ms\n"),
    ]
    # MyST-NB finds every cell's line through the source map, copies included.
    assert len(merged.metadata["source_map"]) == len(merged.cells)
    assert len({c.id for c in merged.cells}) == len(merged.cells)


def test_outputs_that_differ_only_in_how_streams_are_cut_count_as_the_same():
    first = outputs("a\n") + outputs("b\n")
    second = outputs("a\nb\n")
    assert notebooks._all_equal([first, second])


def test_a_run_of_other_code_cannot_lend_its_outputs():
    split = notebooks.split(CHAPTER, "chapter.md")
    with pytest.raises(ValueError):
        notebooks.with_outputs(split["pytorch"], split["mxnet"].notebook)


DISTRIBUTIONS = {
    "torch": ["torch"],
    "numpy": ["numpy"],
    "mxnet": ["mxnet"],
    "sklearn": ["scikit-learn"],
    "IPython": ["ipython"],
}
VERSIONS = {
    "torch": "2.13.0+cpu",
    "numpy": "1.26.4",
    "mxnet": "1.9.1",
    "scikit-learn": "1.9.1",
    "ipython": "9.0",
}


def test_pins_name_the_packages_the_code_imports_framework_first_and_numpy_always():
    assert notebooks.pins("mindspore", ["import os"], DISTRIBUTIONS, VERSIONS.get) == [
        "numpy==1.26.4"
    ]
    sources = [
        "import os\n%xmode Minimal",
        "from sklearn.datasets import load_digits",
        "import numpy as np\nimport torch.nn",
        "from IPython.display import Markdown",
    ]
    assert notebooks.pins("pytorch", sources, DISTRIBUTIONS, VERSIONS.get) == [
        "torch==2.13.0",
        "numpy==1.26.4",
        "scikit-learn==1.9.1",
    ]


def test_the_first_cell_names_the_versions_and_for_mxnet_the_numpy_shim():
    split = notebooks.split(CHAPTER, "chapter.md")
    first = notebooks.install_cell(
        "mxnet", split["mxnet"].notebook, "The Book", ["mxnet==1.9.1", "numpy==1.26.4"]
    )
    assert first.cell_type == "markdown"
    assert "pip install mxnet==1.9.1 numpy==1.26.4" in first.source
    assert "*A chapter*" in first.source and "MXNet notebook" in first.source
    assert "`np.bool = bool`" in first.source
    torch = notebooks.install_cell("pytorch", split["pytorch"].notebook, "B", ["torch==2.13.0"])
    assert "np.bool" not in torch.source


def test_the_first_cell_goes_first_and_belongs_to_no_page_cell():
    split = notebooks.split(
        CHAPTER, "chapter.md", first_cell=lambda fw, nb: nbformat.v4.new_markdown_cell(f"{fw}")
    )
    assert split["mxnet"].notebook.cells[0].source == "mxnet"
    assert split["mxnet"].positions[0] is None


TARGETS = markdown.find_targets(
    {
        "book/a": "(a)=\n# Page A\n\n(a-part)=\n## A `part`\n",
        "book/intro": "(intro)=\n# Intro\n",
    }
)


def link(target: str, anchor: str) -> str | None:
    if target == "book/intro":
        return None  # a page without notebooks
    return f"{target.replace('/', '_')}_pytorch.ipynb" + (f"#{anchor}" if anchor else "")


def test_labels_point_to_the_heading_after_them():
    assert TARGETS["a-part"] == markdown.Target("book/a", "A part")


def test_myst_text_becomes_plain_markdown():
    text = (
        "(label)=\n## Heading\n\n% a comment\nSee {ref}`the part <a-part>` and {ref}`a`, "
        "or {ref}`intro`; $x$ and {math}`y`."
    )
    assert markdown.to_markdown(text, TARGETS, link) == (
        "## Heading\n\nSee [the part](book_a_pytorch.ipynb#A-part) and "
        "[Page A](book_a_pytorch.ipynb#Page-A), or Intro; $x$ and $y$."
    )


def test_admonitions_become_quotes_and_code_blocks_stay_as_they_are():
    text = "```{note}\nMind {ref}`a`.\n```\n\n```bash\n% not a comment\n```"
    assert markdown.to_markdown(text, TARGETS, link) == (
        "> **Note**\n>\n> Mind [Page A](book_a_pytorch.ipynb#Page-A).\n\n"
        "```bash\n% not a comment\n```"
    )


def test_other_directives_go_to_their_extension_and_unknown_markup_stops_the_build():
    convert = {"exercise-notebooks": "Student notebook: [x](y)"}.get
    text = "Graded:\n\n```{exercise-notebooks} tying\n```\n"
    assert markdown.to_markdown(text, TARGETS, link, lambda n, a, b: convert(n)) == (
        "Graded:\n\nStudent notebook: [x](y)"
    )
    with pytest.raises(FrameworkTabError, match="directive {figure}"):
        markdown.to_markdown("```{figure} a.png\n```", TARGETS, link, lambda *_: None, "p.md")
    with pytest.raises(FrameworkTabError, match="role {eq}"):
        markdown.to_markdown("See {eq}`one`.", TARGETS, link)
    with pytest.raises(FrameworkTabError, match="unknown label 'nowhere'"):
        markdown.to_markdown("See {ref}`nowhere`.", TARGETS, link)


def test_leftover_markup_is_found_outside_code_blocks_only():
    text = "(x)=\n# T\n{ref}`x`\n```{note}\n```\n```python\n% fine\n```\n% comment"
    assert markdown.leftover_markup(text) == ["(x)=", "{ref}`x`", "```{note}", "% comment"]


def test_runs_of_framework_cells_are_grouped_and_others_left_in_place():
    children = ["text", "pt", "mx", "text", "ms"]
    grouped = tabs.group(
        children, lambda c: {"pt": "pytorch", "mx": "mxnet", "ms": "mindspore"}.get(c)
    )
    assert grouped == ["text", [("pytorch", "pt"), ("mxnet", "mx")], "text", [("mindspore", "ms")]]


def test_a_tab_set_has_every_framework_in_order_and_says_which_have_no_cell():
    from docutils import nodes

    run = [
        ("mindspore", nodes.container("", nb_element="cell_code")),
        ("pytorch", nodes.container("", nb_element="cell_code")),
    ]
    tab_set, missing = tabs.tab_set(run)
    labels = [item.children[0] for item in tab_set.children]
    assert [label["sync_id"] for label in labels] == ["pytorch", "mxnet", "mindspore"]
    assert {label["sync_group"] for label in labels} == {"framework"}
    assert missing == ["mxnet"]
    mxnet_content = tab_set.children[1].children[1]
    assert mxnet_content.astext() == "This example has no MXNet counterpart."
    assert tab_set["design_component"] == "tab-set"


def test_kernels_run_with_fixed_math_threads_and_hash_seed():
    assert execute.kernel_threads({}) == 1
    assert execute.kernel_threads({"OMP_NUM_THREADS": "2"}) == 2
    env = execute.kernel_environment(2, {"PATH": "/bin"})
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == "2"
    assert env["PYTHONHASHSEED"] == "0" and env["PATH"] == "/bin"


def test_a_print_cut_by_the_kernel_is_joined_into_the_text_it_printed():
    out = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("print('a: 1'); print('b: 2'); show(); print('c')")
    cell.outputs = [
        out("stream", name="stdout", text="a: 1"),  # cut inside a line
        out("stream", name="stdout", text="\nb: 2\n"),
        out("stream", name="stderr", text="careful\n"),
        out("display_data", data={"text/plain": "figure"}),
        out("stream", name="stdout", text="c\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), cell])
    execute.merge_streams(notebook)
    outputs = notebook.cells[1].outputs
    assert [(o.output_type, o.get("name"), o.get("text")) for o in outputs] == [
        ("stream", "stdout", "a: 1\nb: 2\n"),
        ("stream", "stderr", "careful\n"),
        ("display_data", None, None),
        ("stream", "stdout", "c\n"),  # not moved past the figure
    ]
    nbformat.validate(notebook)


def test_the_cache_keeps_runs_by_key_and_prunes_those_no_page_uses(tmp_path):
    cache = execute.RunCache(tmp_path / "runs")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    cache.put("a", notebook)
    cache.put("b", notebook)
    assert cache.get("a") == notebook and cache.get("missing") is None
    assert cache.prune({"a"}) == ["b"]
    assert cache.get("b") is None and cache.get("a") is not None


def test_a_zip_depends_only_on_its_files(tmp_path):
    notebook = tmp_path / "a.ipynb"
    notebook.write_text("{}")
    files = [("_downloads/notebooks/a.ipynb", notebook)]
    write_zip(tmp_path / "one.zip", files)
    first = (tmp_path / "one.zip").read_bytes()
    notebook.touch()
    write_zip(tmp_path / "one.zip", files)
    assert (tmp_path / "one.zip").read_bytes() == first


def test_per_page_records_are_purged_and_merged_one_page_at_a_time():
    from types import SimpleNamespace

    from framework_tabs import build

    main, worker = SimpleNamespace(), SimpleNamespace()
    build.pages(main).update(a=build.PageNotebooks(("pytorch",)), b=build.PageNotebooks(()))
    build.purge(None, main, "a")
    assert set(build.pages(main)) == {"b"}
    build.pages(worker).update(a=build.PageNotebooks(("mxnet",)), c=build.PageNotebooks(()))
    build.merge_info(None, main, {"a"}, worker)  # the pages that worker process read
    assert build.pages(main)["a"].frameworks == ("mxnet",) and "c" not in build.pages(main)
