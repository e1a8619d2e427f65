"""How the tour test reads the README: which lines are commands, what they must print,
which exit status they must have, and which output a shell variable keeps."""

from __future__ import annotations

from tests.readme import tour

README = """# x

## A two-minute tour

```
dagwire listening on ...  (server output: not run)
```

```sh
# a comment line is not a command
grpcurl -plaintext 127.0.0.1:8083 \\
  list
#> grpc.health.v1.Health
dagwire job get nope    # exit 1: no such job
#> does not exist
RUN=$(dagwire run create -f d.yaml -q)   # <run-id>
cat > d.yaml <<'YAML'
name: d
YAML
```

### More of the tour

```python
print("hi")
#> hi
```

## Not the tour

```sh
make bench
```
"""


def test_only_the_tours_sh_and_python_blocks_become_steps() -> None:
    steps = tour.steps(README)
    assert [s.language for s in steps] == ["sh", "sh", "sh", "sh", "python"]
    assert all("make bench" not in s.code for s in steps)


def test_a_backslash_continues_a_command_and_a_heredoc_belongs_to_it() -> None:
    steps = tour.steps(README)
    assert steps[0].code == "grpcurl -plaintext 127.0.0.1:8083 \\\n  list"
    assert steps[3].code == "cat > d.yaml <<'YAML'\nname: d\nYAML"


def test_hash_gt_lines_are_what_the_command_above_must_print() -> None:
    steps = tour.steps(README)
    assert steps[0].expected == ["grpc.health.v1.Health"]
    assert steps[1].expected == ["does not exist"]
    assert steps[4].expected == ["hi"]


def test_a_trailing_exit_comment_is_the_expected_status_else_zero() -> None:
    assert [s.exit_status for s in tour.steps(README)] == [0, 1, 0, 0, 0]


def test_an_assignment_from_a_command_substitution_keeps_its_output() -> None:
    step = tour.steps(README)[2]
    assert (step.capture, step.code) == ("RUN", "dagwire run create -f d.yaml -q")


def test_steps_name_their_readme_line() -> None:
    assert [s.line for s in tour.steps(README)] == [11, 14, 16, 17, 25]
