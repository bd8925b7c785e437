"""Read `cynosure.yml`: YAML with positions, the schema, then every cross-check, in one pass."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from cynosure.errors import Problem, ProjectError
from cynosure.metrics.behaviours import BehaviourPlan, compile_behaviours
from cynosure.metrics.compile import compile_metrics
from cynosure.metrics.plan import Plan
from cynosure.project.checks import build_tree, check_settings
from cynosure.project.errors_map import problems_from_validation
from cynosure.project.model import ProjectModel
from cynosure.project.yamlmarks import Located, load_located
from cynosure.tree.structure import Tree


@dataclass
class Spec:
    """A loaded project: the validated model, its compiled plan and tree, and where it lives."""

    model: ProjectModel
    plan: Plan
    tree: Tree
    file: Path
    located: Located = field(repr=False)
    display: str = ""  # the file's name as the user gave it, used in every message
    behaviours: BehaviourPlan = field(default_factory=BehaviourPlan)

    @property
    def base_dir(self) -> Path:
        return self.file.parent

    def problem(self, path: tuple[str | int, ...], message: str, hint: str = "") -> Problem:
        """A Problem located at `path` of the project file."""
        line, column = self.located.where(path)
        dotted = ".".join(str(p) for p in path)
        return Problem(message, dotted, self.display or str(self.file), line, column, hint)


def read_text(path: str | Path) -> tuple[Path, str]:
    """The project file's path and text (a directory means its cynosure.yml)."""
    file = Path(path)
    if file.is_dir():
        file = file / "cynosure.yml"
    if not file.exists():
        hint = "run `cynosure demo` to create an example, or pass -p PATH"
        raise ProjectError([Problem(f"no project file at {file}", file=str(file), hint=hint)])
    try:
        return file, file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(
            [Problem(f"cannot read the project file: {exc}", file=str(file))]
        ) from None


def read_spec(path: str | Path) -> Spec:
    """Load and statically check a project file; raise ProjectError listing every problem."""
    file, text = read_text(path)
    return parse_spec(text, file)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order."""
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _validate(
    located: Located, name: str, problems: list[Problem]
) -> tuple[ProjectModel, set[str]]:
    """Validate the schema; set aside what fails (and report it) so later checks still run.

    Returns the model of what is valid and the names of metrics that failed: they still count
    as defined when other sections refer to them, so one typo yields one message.
    """
    data = copy.deepcopy(located.data)
    invalid: set[str] = set()
    optional = {k for k, f in ProjectModel.model_fields.items() if not f.is_required()}
    for _ in range(4):
        try:
            return ProjectModel.model_validate(data), invalid
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, located, name))
            pruned = False
            for error in exc.errors():
                loc = error["loc"]
                metrics = data.get("metrics")
                if loc[0] == "metrics" and len(loc) > 1 and isinstance(metrics, dict):
                    if loc[1] in metrics:
                        del metrics[loc[1]]
                        invalid.add(str(loc[1]))
                        pruned = True
                elif loc[0] in optional and loc[0] in data:
                    del data[loc[0]]
                    pruned = True
            if not pruned:
                break
    raise ProjectError(sort_problems(problems))


def parse_spec(text: str, file: Path) -> Spec:
    """Check the text of a project file; raise ProjectError listing every problem."""
    spec, problems = inspect_spec(text, file)
    if problems or spec is None:
        raise ProjectError(sort_problems(problems))
    return spec


def inspect_spec(text: str, file: Path) -> tuple[Spec | None, list[Problem]]:
    """Every static problem of a project file, and its Spec when the file is usable at all.

    The Spec is returned even when some sections are wrong, so that the data checks can run
    and report in the same pass; it is None when the file cannot be read as a project.
    """
    name = str(file)
    located = load_located(text, name)
    problems = list(located.problems)
    if located.data is None:
        return None, problems
    if located.data == {} and not text.strip("\n\t #"):
        problems.append(
            Problem(
                "the project file is empty",
                file=name,
                line=1,
                column=1,
                hint="run `cynosure demo` to see a complete example",
            )
        )
        return None, problems
    if not isinstance(located.data, dict):
        problems.append(
            Problem(
                "the project file must be a mapping of keys to values", file=name, line=1, column=1
            )
        )
        return None, problems
    try:
        model, invalid = _validate(located, name, problems)
    except ProjectError:
        return None, problems
    spec = Spec(model, Plan(), Tree(None, {}), file.resolve(), located, name)

    def report(path: tuple[str | int, ...], message: str, hint: str) -> None:
        problems.append(spec.problem(path, message, hint))

    spec.plan = compile_metrics(model, report, also_known=invalid)
    check_settings(model, report, also_known=invalid)
    spec.tree = build_tree(model, report, also_known=invalid)
    spec.behaviours = compile_behaviours(model, report)
    return spec, problems
