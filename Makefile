# The project's commands. Each target sets up what it needs first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# MindSpore logs [WARNING] lines to stderr unless told not to.
export GLOG_v := 3

.PHONY: book test serve lab release grade clean system-deps sources

# jupyter-book runs only when something the book is made from is newer than the last good
# build: with nothing changed, make's own check takes milliseconds where jupyter-book takes
# seconds just to start. The kernels' math threads (OMP_NUM_THREADS) change what the
# notebooks print, so a new value builds again too. After `rm _build/html/.built`, make runs
# jupyter-book anyway; its execution cache still runs only the notebooks whose code changed.
BOOK_INPUTS := _config.yml _toc.yml exercises/nbgrader_config.py requirements.txt \
	$(shell find book exercises/source autograder learner -type f -not -path '*/__pycache__/*' \
	  -not -path '*.egg-info/*' \
	  -not -path '*/.ipynb_checkpoints/*' 2>/dev/null)
BOOK_BUILT := _build/html/.built
BOOK_THREADS := _build/.threads-$(or $(OMP_NUM_THREADS),unset)

# The build also puts the wheel of the learner's checker (learner/, pmcheck) into
# _build/html/_downloads/pmcheck/, linked from the page "Install and run".
book: $(BOOK_BUILT)
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

$(BOOK_BUILT): $(STAMP) $(BOOK_INPUTS) $(BOOK_THREADS)
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@touch $@

$(BOOK_THREADS):
	@mkdir -p _build && rm -f _build/.threads-* && touch $@

# Lint and the format check first (seconds), then every test; the slowest fifteen are listed at the end.
# Only the tests need the Debian packages (Chromium for the browser tests): grading and the
# book never install any.
test: $(STAMP) | system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --durations=15

# The fast lane: no book build, no graded kernels (about a minute).
.PHONY: test-fast
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -m "not slow and not determinism" --durations=10

# Clean clones of the book built as two machines would (1 thread and every vector instruction;
# 2 threads and at most AVX2), every fact checked in both
# (make test runs it too, as tests/test_book_determinism.py).
.PHONY: determinism
determinism: $(STAMP)
	$(BIN)/python tests/helpers/book_determinism.py

serve: book
	$(BIN)/python -m http.server --directory _build/html 8000

lab: $(STAMP)
	$(BIN)/jupyter lab exercises

$(STAMP): requirements.txt constraints.txt pyproject.toml learner/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	touch $(STAMP)

# Debian packages, as command:package: Chromium and its driver run the browser tests, and
# the PostgreSQL gradebook tests start a throw-away server of their own (Debian keeps its
# initdb off PATH, in /usr/lib/postgresql/N/bin). The grading kernels' sandbox is our own,
# autograder/sandbox.py. Install the missing ones where we may.
SYSTEM_DEPS := chromium:chromium chromedriver:chromium-driver initdb:postgresql

system-deps:
	@missing=""; \
	for dep in $(SYSTEM_DEPS); do \
	  command -v $${dep%%:*} >/dev/null 2>&1 || \
	    ls /usr/lib/postgresql/*/bin/$${dep%%:*} >/dev/null 2>&1 || \
	    missing="$$missing $${dep#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "note: not installed:$$missing (without chromium and chromium-driver"; \
	    echo "      the browser tests are skipped, without postgresql the PostgreSQL"; \
	    echo "      gradebook tests)"; \
	  fi; \
	fi

clean:
	rm -rf _build

# Grading: thin wrappers over `python -m autograder` (see its --help). COURSE defaults
# to exercises/; e.g. `make grade ASSIGNMENT=tying`, `make release` for every assignment.
COURSE ?= exercises
.PHONY: feedback export

release: $(STAMP)
	$(BIN)/python -m autograder release $(ASSIGNMENT) --course $(COURSE)

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=tying"; exit 2; }
	$(BIN)/python -m autograder grade $(ASSIGNMENT) --course $(COURSE)

feedback: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make feedback ASSIGNMENT=tying"; exit 2; }
	$(BIN)/python -m autograder feedback $(ASSIGNMENT) --course $(COURSE)

export: $(STAMP)
	$(BIN)/python -m autograder export --course $(COURSE)
