"""nbgrader configuration of the Parameter Management course (run nbgrader from this folder)."""

c = get_config()  # noqa: F821 (nbgrader provides it)

c.CourseDirectory.course_id = "parameter-management"

# What a learner sees in place of a solution: the stubs nbgrader's own example course uses.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Every notebook runs in well under a minute; a cell stuck for two is a broken answer.
c.Execute.timeout = 120
